module github.com/sigtrace/sigtrace

go 1.26

require (
	github.com/expr-lang/expr v1.17.6
	github.com/fiorix/go-diameter/v4 v4.3.0
	github.com/gopacket/gopacket v1.4.0
	github.com/klauspost/compress v1.18.0
	github.com/miekg/dns v1.1.68
	github.com/rogpeppe/go-internal v1.14.1
	github.com/spf13/cobra v1.10.1
	github.com/spf13/pflag v1.0.9
	golang.org/x/net v0.52.0
	golang.org/x/sys v0.42.0
	gopkg.in/yaml.v3 v3.0.1
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/ishidawataru/sctp v0.0.0-20251114114122-19ddcbc6aae2 // indirect
	golang.org/x/mod v0.24.0 // indirect
	golang.org/x/sync v0.14.0 // indirect
	golang.org/x/tools v0.33.0 // indirect
)
