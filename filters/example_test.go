package filters_test

import (
	"context"
	"fmt"

	"github.com/sigtrace/sigtrace/decode"
	"github.com/sigtrace/sigtrace/filters"
)

// Count the SIP error responses of a capture.
func Example() {
	f, err := filters.Compile(`sip.status >= 400 and not (sip.cseq.method == "REGISTER")`)
	if err != nil {
		fmt.Println(err)
		return
	}
	n := 0
	_, err = decode.Run(context.Background(), []string{"../samples/demo.pcap"}, func(m *decode.Message) {
		if f.MatchMessage(m) {
			n++
		}
	}, decode.Options{})
	fmt.Println(n, "error responses", err)
}

// A mistake is reported with a caret under it.
func ExampleCompile_error() {
	_, err := filters.Compile(`sip.method == "INVITE" and sip.stauts == 486`)
	fmt.Println(err)
	// Output:
	// filters: column 28: unknown field "sip.stauts" (did you mean "sip.status"?)
	//   sip.method == "INVITE" and sip.stauts == 486
	//                              ^
}
