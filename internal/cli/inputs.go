package cli

import "github.com/sigtrace/sigtrace/decode"

// openCaptures opens every input, "-" being the Factory's standard input. It returns the captures
// opened so far with the error, for the caller to close.
func openCaptures(f *Factory, names []string) ([]*decode.Capture, error) {
	caps := make([]*decode.Capture, 0, len(names))
	for _, name := range names {
		var c *decode.Capture
		var err error
		if name == "-" {
			c, err = decode.OpenReader("-", f.Stdin, nil)
		} else {
			c, err = decode.Open(name)
		}
		if err != nil {
			return caps, err
		}
		caps = append(caps, c)
	}
	return caps, nil
}

func closeCaptures(caps []*decode.Capture) {
	for _, c := range caps {
		c.Close()
	}
}
