// Package correlate ties messages together: SIP transactions, dialogs and calls (class-4 / class-5
// legs), Diameter request/answer pairs and DNS query/response pairs.
package correlate
