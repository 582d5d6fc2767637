package twiliosim

import (
	"unicode/utf16"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Encoding names the alphabet a body is sent in.
type Encoding = tocsin.Encoding

// The two SMS encodings.
const (
	GSM7 = tocsin.GSM7
	UCS2 = tocsin.UCS2
)

// The simulator counts segments with its own tables, written from 3GPP TS
// 23.038 row by row, not with Tocsin's count: it is the provider's side of
// the bill, and a bug in Tocsin's count must show as a disagreement.
var (
	// gsmRows is the default alphabet, eight rows of sixteen; 0x1B (the
	// escape to the extension table) is left out.
	gsmRows = [8]string{
		"@£$¥èéùìòÇ\nØø\rÅå",
		"Δ_ΦΓΛΩΠΨΣΘΞ\x00ÆæßÉ",
		" !\"#¤%&'()*+,-./",
		"0123456789:;<=>?",
		"¡ABCDEFGHIJKLMNO",
		"PQRSTUVWXYZÄÖÑÜ§",
		"¿abcdefghijklmno",
		"pqrstuvwxyzäöñüà",
	}
	// gsmEscaped are the extension table's characters: escape + one.
	gsmEscaped = map[rune]bool{'\f': true, '^': true, '{': true, '}': true, '\\': true, '[': true, '~': true, ']': true, '|': true, '€': true}
	gsmDefault = func() map[rune]bool {
		m := map[rune]bool{}
		for _, row := range gsmRows {
			for _, r := range row {
				if r != 0 {
					m[r] = true
				}
			}
		}
		return m
	}()
)

// Segments returns how many SMS segments body takes and in which encoding,
// as Twilio counts them without smart encoding: GSM-7 holds 160 septets in
// one segment and 153 in each part of a long message (7 go to the
// concatenation header); UCS-2 holds 70 UTF-16 units, 67 in each part. An
// empty body is one segment.
func Segments(body string) (int, Encoding) {
	septets := 0
	for _, r := range body {
		switch {
		case gsmDefault[r]:
			septets++
		case gsmEscaped[r]:
			septets += 2
		default:
			return parts(len(utf16.Encode([]rune(body))), 70, 67), UCS2
		}
	}
	return parts(septets, 160, 153), GSM7
}

// parts is how many segments n units take, single holding one message's
// worth and multi each part's of a longer one.
func parts(n, single, multi int) int {
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}
