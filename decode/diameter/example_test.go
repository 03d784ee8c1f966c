package diameter_test

import (
	"fmt"

	"github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"github.com/sigtrace/sigtrace/decode/diameter"
)

func ExampleDecode() {
	// A Cx Location-Info request as an I-CSCF sends it, built with go-diameter.
	lir := diam.NewMessage(302, diam.RequestFlag|diam.ProxiableFlag, 16777216, 0x11, 0x22, nil)
	lir.NewAVP(avp.SessionID, avp.Mbit, 0, datatype.UTF8String("icscf.ims.example;1;1"))
	lir.NewAVP(avp.OriginHost, avp.Mbit, 0, datatype.DiameterIdentity("icscf.ims.example"))
	lir.NewAVP(601, avp.Mbit|avp.Vbit, 10415, datatype.UTF8String("tel:+15551234567"))
	lir.NewAVP(4711, avp.Vbit, 99999, datatype.OctetString([]byte{0xca, 0xfe}))
	b, _ := lir.Serialize()

	m, err := diameter.Decode(b)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Name(), m.Command, m.Application, m.PublicIdentity)
	for _, a := range m.AVPs {
		fmt.Printf("%d/%d %s %s %s %s\n", a.Code, a.VendorID, a.Flags, a.Name, a.Type, a.Value)
	}
	// Output:
	// LIR Location-Info Cx tel:+15551234567
	// 263/0 M Session-Id UTF8String icscf.ims.example;1;1
	// 264/0 M Origin-Host DiameterIdentity icscf.ims.example
	// 601/10415 VM Public-Identity UTF8String tel:+15551234567
	// 4711/99999 V  Unknown 0xcafe
}
