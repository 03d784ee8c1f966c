package filters

import "os"

func readOwnTests() (string, error) {
	b, err := os.ReadFile("filter_test.go")
	return string(b), err
}
