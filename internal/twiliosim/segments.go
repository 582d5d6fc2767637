package twiliosim

import "github.com/prefecture76/tocsin/internal/tocsin"

// Encoding names the alphabet a body is sent in.
type Encoding = tocsin.Encoding

// The two SMS encodings.
const (
	GSM7 = tocsin.GSM7
	UCS2 = tocsin.UCS2
)

// Segments returns how many SMS segments body takes and in which encoding,
// as Twilio counts them without smart encoding: GSM-7 holds 160 septets in
// one segment and 153 in each part of a long message; UCS-2 holds 70 UTF-16
// units, 67 in each part. An empty body is one segment.
func Segments(body string) (int, Encoding) { return tocsin.Segments(body) }
