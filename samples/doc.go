// Package samples holds captures made by and for this project: demo.pcap with its call records
// (demo.truth.ndjson), written by the generator in samples/synth, and class45/, a real capture
// of a class-4 / class-5 network recorded for this project. It has no code of its own.
package samples

//go:generate go run ./gen -demo -o demo.pcap -truth demo.truth.ndjson
