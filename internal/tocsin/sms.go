package tocsin

import (
	"strings"
	"unicode/utf16"
)

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

// Encoding names the alphabet an SMS is sent in.
type Encoding string

// The two SMS encodings.
const (
	GSM7 Encoding = "GSM-7"
	UCS2 Encoding = "UCS-2"
)

// Segments returns how many SMS segments body takes and in which encoding,
// as carriers count them: GSM-7 holds 160 septets in one segment and 153 in
// each part of a long message; UCS-2 holds 70 UTF-16 units, 67 in each
// part. An empty body is one segment.
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

// NonGSM returns the distinct characters of body that force UCS-2, in the
// order they first appear.
func NonGSM(body string) []string {
	var out []string
	seen := map[rune]bool{}
	for _, r := range body {
		if _, ok := gsm7Septets[r]; !ok && !seen[r] {
			seen[r] = true
			out = append(out, string(r))
		}
	}
	return out
}

// typography maps typographic characters to their GSM-7 equivalents. It
// holds punctuation and spaces only: letters, accented or not, are never
// changed.
var typography = strings.NewReplacer(
	"\u2019", "'", "\u2018", "'", "\u201a", "'", "\u2032", "'",
	"\u201c", `"`, "\u201d", `"`, "\u201e", `"`, "\u00ab\u00a0", `"`, "\u00a0\u00bb", `"`,
	"\u00ab\u202f", `"`, "\u202f\u00bb", `"`, "\u00ab ", `"`, " \u00bb", `"`, "\u00ab", `"`, "\u00bb", `"`,
	"\u2026", "...", "\u2013", "-", "\u2014", "-", "\u2010", "-", "\u2011", "-", "\u2212", "-",
	"\u00a0", " ", "\u202f", " ", "\u2009", " ", "\u2022", "-", "\u00b7", "-",
)

// FoldTypography replaces typographic punctuation (’ « » … – and
// non-breaking spaces) by GSM-7 equivalents, so that a message is not sent
// in UCS-2 for its punctuation alone. Letters are left as they are: an ê
// still forces UCS-2, and NonGSM says so.
func FoldTypography(s string) string { return typography.Replace(s) }
