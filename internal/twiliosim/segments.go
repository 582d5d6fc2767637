package twiliosim

import "unicode/utf16"

// gsm7Basic is the GSM 03.38 default alphabet; gsm7Extension holds the
// characters that take an escape and so count twice. Anything else (ê, â, î,
// ô, û, ç, the curly apostrophe, emoji) forces the whole message to UCS-2.
const (
	gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
		"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Extension = "\f^{}\\[~]|€"
)

var gsm7Septets = func() map[rune]int {
	m := make(map[rune]int)
	for _, r := range gsm7Basic {
		m[r] = 1
	}
	for _, r := range gsm7Extension {
		m[r] = 2
	}
	return m
}()

// Encoding names the alphabet a body is sent in.
type Encoding string

// The two SMS encodings.
const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// Segments returns how many SMS segments body takes and in which encoding,
// as Twilio counts them without smart encoding: GSM-7 holds 160 septets in
// one segment and 153 in each part of a long message; UCS-2 holds 70 UTF-16
// units, 67 in each part. An empty body is one segment.
func Segments(body string) (int, Encoding) {
	septets, gsm := 0, true
	for _, r := range body {
		n, ok := gsm7Septets[r]
		if !ok {
			gsm = false
			break
		}
		septets += n
	}
	if gsm {
		return parts(septets, 160, 153), GSM7
	}
	return parts(len(utf16.Encode([]rune(body))), 70, 67), UCS2
}

func parts(n, single, multi int) int {
	if n <= single {
		return 1
	}
	return (n + multi - 1) / multi
}
