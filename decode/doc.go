// Package decode opens capture inputs (pcap, pcapng, gzip/zstd-compressed, standard input, several
// files merged by time), decodes link and network layers, reassembles IP fragments and transport
// streams, and hands each SIP, Diameter and DNS message on with its Envelope.
package decode
