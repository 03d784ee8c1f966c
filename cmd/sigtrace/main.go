// Command sigtrace analyses SIP, Diameter and DNS traces. All logic lives in internal/cli.
package main

import (
	"os"

	"github.com/sigtrace/sigtrace/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], cli.SystemFactory())) }
