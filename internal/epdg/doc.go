// Package epdg finds the public gateways that handsets reach for Voice over WiFi: it builds the
// 3GPP TS 23.003 DNS names of mobile operators' ePDGs (and emergency ePDGs and 5G N3IWFs),
// resolves them, and writes the addresses as reports, firewall and QoS lists, and differences
// from an earlier run.
package epdg
