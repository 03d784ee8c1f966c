package filters

import (
	"os"

	"github.com/sigtrace/sigtrace/decode"
)

type decodeMessage = decode.Message

func readOwnTests() (string, error) {
	b, err := os.ReadFile("filter_test.go")
	return string(b), err
}
