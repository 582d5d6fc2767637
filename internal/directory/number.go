package directory

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// fictionRange is a block of ten thousand numbers that ARCEP reserves for
// fiction (films, books, demonstrations, tests): never assigned to anyone,
// so a message sent to one wakes nobody.
type fictionRange struct {
	prefix string // E.164 prefix; the range is prefix + 4 digits
	kind   tocsin.NumberKind
}

// fictionRanges are ARCEP's fiction ranges, classed by what the prefix
// would be in real life. The phonenumbers metadata marks the mobile range
// invalid while it accepts the landline ones: numbers in these ranges are
// accepted here before, and instead of, IsValidNumber.
var fictionRanges = []fictionRange{
	{"+3363998", tocsin.Mobile},   // 06 39 98 xx xx
	{"+3319900", tocsin.Landline}, // 01 99 00 xx xx, Île-de-France
	{"+3326191", tocsin.Landline}, // 02 61 91 xx xx, Nord-Ouest
	{"+3335301", tocsin.Landline}, // 03 53 01 xx xx, Nord-Est
	{"+3346571", tocsin.Landline}, // 04 65 71 xx xx, Sud-Est
	{"+3353649", tocsin.Landline}, // 05 36 49 xx xx, Sud-Ouest
}

// The demo directory draws its numbers from these two ranges.
const (
	fictionMobilePrefix   = "+3363998"
	fictionLandlinePrefix = "+3326191"
)

// fiction returns the fiction range e164 belongs to, if any.
func fiction(e164 string) (fictionRange, bool) {
	for _, r := range fictionRanges {
		if len(e164) == len(r.prefix)+4 && strings.HasPrefix(e164, r.prefix) && allDigits(e164[len(r.prefix):]) {
			return r, true
		}
	}
	return fictionRange{}, false
}

// IsFiction reports whether e164 (such as "+33639981234") lies in one of
// ARCEP's ranges reserved for fiction. Such numbers reach nobody: they are
// right for the demo, the simulator and tests, and a mistake in a real
// directory.
func IsFiction(e164 string) bool {
	_, ok := fiction(e164)
	return ok
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// maxNumberLen bounds what is worth handing to the parser: the longest
// international number has 15 digits, separators aside.
const maxNumberLen = 40

// ParseNumber reads a phone number written the way people write them in
// France ("06 12 34 56 78", "06.12.34.56.78", "+33 6 12 34 56 78",
// "+33 (0)6 12…", "0033 6 12…", or "612345678" when a spreadsheet dropped
// the leading zero), or an international number with its "+" or "00". It
// returns it in E.164 form, classed mobile (takes SMS and calls) or
// landline (calls only; VoIP "09" numbers are landlines too).
//
// Numbers in ARCEP's fiction ranges are accepted (see IsFiction). Special
// numbers — premium rate, shared cost, free phone, other 08 numbers — and
// short numbers are refused. The error is a *tocsin.Error with code
// EInvalid and a message in French that quotes raw.
func ParseNumber(raw string) (tocsin.Number, error) {
	s := strings.TrimSpace(raw)
	s = strings.TrimPrefix(s, "'") // a spreadsheet's "keep as text" mark
	s = strings.TrimSpace(s)
	if s == "" {
		return tocsin.Number{}, tocsin.Errorf(tocsin.EInvalid, "numéro vide")
	}
	quoted := quote(raw)
	if len(s) > maxNumberLen {
		return tocsin.Number{}, tocsin.Errorf(tocsin.EInvalid, "numéro invalide %s : trop long", quoted)
	}
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9', c == ' ', c == '\u00a0', c == '\u202f', c == '.', c == '-', c == '/', c == '(', c == ')':
		case c == '+' && i == 0:
		default:
			return tocsin.Number{}, tocsin.Errorf(tocsin.EInvalid, "numéro invalide %s : seuls les chiffres, les espaces, « . », « - », « / » et un « + » initial sont admis", quoted)
		}
	}
	// "+33 (0)6 …": the parser would keep the 0 as part of the number.
	s = strings.Replace(s, "(0)", "", 1)

	n, err := phonenumbers.Parse(s, "FR")
	switch {
	case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
		return tocsin.Number{}, tocsin.Errorf(tocsin.EInvalid, "numéro invalide %s : indicatif de pays inconnu", quoted)
	case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
		return tocsin.Number{}, tocsin.Errorf(tocsin.EInvalid, "numéro invalide %s : trop court", quoted)
	case err != nil:
		return tocsin.Number{}, tocsin.Errorf(tocsin.EInvalid, "numéro invalide %s", quoted)
	}
	e164 := phonenumbers.Format(n, phonenumbers.E164)
	if r, ok := fiction(e164); ok {
		return tocsin.Number{E164: e164, Kind: r.kind}, nil
	}
	switch phonenumbers.IsPossibleNumberWithReason(n) {
	case phonenumbers.TOO_SHORT, phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return tocsin.Number{}, tocsin.Errorf(tocsin.EInvalid, "numéro invalide %s : trop court (les numéros courts et spéciaux ne sont pas acceptés ; un numéro français a 10 chiffres)", quoted)
	case phonenumbers.TOO_LONG:
		return tocsin.Number{}, tocsin.Errorf(tocsin.EInvalid, "numéro invalide %s : trop long (un numéro français a 10 chiffres)", quoted)
	case phonenumbers.INVALID_COUNTRY_CODE:
		return tocsin.Number{}, tocsin.Errorf(tocsin.EInvalid, "numéro invalide %s : indicatif de pays inconnu", quoted)
	}
	if !phonenumbers.IsValidNumber(n) {
		return tocsin.Number{}, tocsin.Errorf(tocsin.EInvalid, "numéro invalide %s : ce numéro n'existe pas dans le plan de numérotation", quoted)
	}
	switch phonenumbers.GetNumberType(n) {
	case phonenumbers.MOBILE:
		return tocsin.Number{E164: e164, Kind: tocsin.Mobile}, nil
	case phonenumbers.FIXED_LINE, phonenumbers.FIXED_LINE_OR_MOBILE, phonenumbers.VOIP:
		// FIXED_LINE_OR_MOBILE only occurs abroad (North America…): classed
		// landline, the kind that is never sent an SMS it cannot take.
		return tocsin.Number{E164: e164, Kind: tocsin.Landline}, nil
	case phonenumbers.PREMIUM_RATE:
		return tocsin.Number{}, tocsin.Errorf(tocsin.EInvalid, "numéro refusé %s : numéro surtaxé", quoted)
	case phonenumbers.SHARED_COST:
		return tocsin.Number{}, tocsin.Errorf(tocsin.EInvalid, "numéro refusé %s : numéro à coût partagé (08 1x, 08 2x)", quoted)
	case phonenumbers.TOLL_FREE:
		return tocsin.Number{}, tocsin.Errorf(tocsin.EInvalid, "numéro refusé %s : numéro vert ; indiquez la ligne directe de l'élu", quoted)
	default:
		return tocsin.Number{}, tocsin.Errorf(tocsin.EInvalid, "numéro refusé %s : numéro spécial ; indiquez un mobile ou une ligne fixe", quoted)
	}
}

// FormatNumber writes an E.164 number the way a French administrator
// writes it in a spreadsheet: "06 12 34 56 78" for a French number,
// "0032 470 12 34 56" for a foreign one (a leading "+" would turn the cell
// into a formula). ParseNumber reads it back. A string it cannot read is
// returned unchanged.
func FormatNumber(e164 string) string {
	n, err := phonenumbers.Parse(e164, "FR")
	if err != nil {
		return e164
	}
	if n.GetCountryCode() == 33 {
		return phonenumbers.Format(n, phonenumbers.NATIONAL)
	}
	return "00" + strings.TrimPrefix(phonenumbers.Format(n, phonenumbers.INTERNATIONAL), "+")
}

// quote puts s between French quotation marks, cut short if it is long.
func quote(s string) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > 40 {
		s = string(r[:40]) + "…"
	}
	return "« " + s + " »"
}

// ParseNumbers reads an official's numbers as a form or the API gives
// them: mobiles and landlines apart, as in the directory's columns. Every
// number is checked, each error naming its field (« mobile[1] »), all in
// one error; a mobile given as a landline (or the reverse), the same
// number twice and no number at all are refused.
func ParseNumbers(mobiles, landlines []string) ([]tocsin.Number, error) {
	var out []tocsin.Number
	var errs []string
	check := func(field string, raws []string, want tocsin.NumberKind) {
		for i, raw := range raws {
			if strings.TrimSpace(raw) == "" {
				continue
			}
			where := fmt.Sprintf("%s[%d]", field, i)
			n, err := ParseNumber(raw)
			switch {
			case err != nil:
				var te *tocsin.Error
				if errors.As(err, &te) {
					errs = append(errs, where+" : "+te.Message)
				} else {
					errs = append(errs, where+" : "+err.Error())
				}
			case n.Kind != want && want == tocsin.Landline:
				errs = append(errs, fmt.Sprintf("%s : %s est un numéro mobile : mettez-le avec les mobiles", where, quote(raw)))
			case n.Kind != want:
				errs = append(errs, fmt.Sprintf("%s : %s est une ligne fixe : mettez-la avec les fixes", where, quote(raw)))
			case slices.ContainsFunc(out, func(x tocsin.Number) bool { return x.E164 == n.E164 }):
				errs = append(errs, fmt.Sprintf("%s : %s est déjà donné", where, quote(raw)))
			default:
				out = append(out, n)
			}
		}
	}
	check("mobile", mobiles, tocsin.Mobile)
	check("fixe", landlines, tocsin.Landline)
	switch {
	case len(errs) > 0:
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "numbers", "%s", strings.Join(errs, " ; "))
	case len(out) == 0:
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "numbers", "indiquez au moins un numéro, mobile ou fixe")
	}
	return out, nil
}
