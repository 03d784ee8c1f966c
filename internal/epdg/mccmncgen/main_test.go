package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestConvert(t *testing.T) {
	in := `[
 {"type":"National","countryName":"Australia","countryCode":"AU/CC/CX","mcc":"505","mnc":"02","brand":"Optus","operator":"Singtel Optus Pty Ltd","status":"Operational","bands":null,"notes":null},
 {"type":"National","countryName":"Australia","countryCode":"AU/CC/CX","mcc":"505","mnc":"01","brand":"Telstra","operator":"Telstra\tCorporation\n Limited","status":"Operational","bands":null,"notes":null},
 {"type":"National","countryName":"France","countryCode":"FR","mcc":"208","mnc":"50144","brand":null,"operator":"TotalEnergies","status":"Unknown","bands":null,"notes":null},
 {"type":"International","countryName":"International operators","countryCode":null,"mcc":"901","mnc":"?","brand":null,"operator":null,"status":"Unknown","bands":null,"notes":null},
 {"type":"National","countryName":"United States of America","countryCode":"US","mcc":"310","mnc":"260","brand":"T-Mobile","operator":null,"status":"Operational","bands":null,"notes":null}
]`
	var out bytes.Buffer
	n, err := convert(strings.NewReader(in), &out, "9.9.9")
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if !strings.HasPrefix(line, "#") {
			rows = append(rows, line)
		}
	}
	want := []string{
		"310\t260\tUS\tUnited States of America\tT-Mobile\t\tOperational",
		"505\t01\tAU/CC/CX\tAustralia\tTelstra\tTelstra Corporation Limited\tOperational",
		"505\t02\tAU/CC/CX\tAustralia\tOptus\tSingtel Optus Pty Ltd\tOperational",
	}
	if n != len(want) || strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("convert: %d rows\n%s\nwant\n%s", n, strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(out.String(), "mcc-mnc-list 9.9.9") {
		t.Errorf("header does not name the source version:\n%s", out.String())
	}
}

func TestConvertRejectsBadInput(t *testing.T) {
	for _, in := range []string{"", "{}", "[]", `[{"mcc":"5050","mnc":"01"}]`} {
		if _, err := convert(strings.NewReader(in), &bytes.Buffer{}, "1"); err == nil {
			t.Errorf("convert(%q): no error", in)
		}
	}
}
