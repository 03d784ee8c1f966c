// Package hepfeed moves decoded messages over the network as HEPv3: a Sender replays messages to a
// HEP collector (UDP or TCP), and a Listener receives a live HEP feed and hands each packet on, with
// a Feed that gives those packets to a decode.Decoder and writes them, decapsulated, to a capture.
package hepfeed
