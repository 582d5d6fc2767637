package tocsin

import (
	"slices"
	"strings"
	"unicode"
)

// Officials are not trained to answer "OK": they write « Bonjour, bien
// reçu, merci », « C'est noté », « D'accord », « 👍 ». A reply
// acknowledges when it says it was received or understood, or carries the
// activation's code; it does not when it refuses or corrects (« STOP »,
// « mauvais numéro », « je ne suis plus maire », « pas reçu »): those are
// for the duty officer to read.

// ackPhrases are acknowledgements, as word sequences of the folded text
// (lower case, no accents, split on anything but letters and digits).
var ackPhrases = [][]string{
	{"ok"}, {"okay"}, {"oki"}, {"oui"}, {"recu"}, {"bien", "note"}, {"c", "est", "note"},
	{"d", "accord"}, {"daccord"}, {"pris", "en", "compte"}, {"entendu"}, {"compris"}, {"vu"},
	{"confirme"}, {"accuse", "reception"}, {"ca", "marche"},
}

// ackSigns are acknowledgements in one sign.
var ackSigns = []string{"👍", "👌", "✅", "🆗", "✔"}

// refusalWords make a reply a refusal or a correction, whatever else it
// says.
var refusalWords = []string{"stop", "pas", "plus", "non", "ne", "n", "mauvais", "erreur", "faux", "jamais", "arret", "desabonner", "desinscrire"}

// unaccented folds the accented letters of French.
var unaccented = strings.NewReplacer(
	"à", "a", "â", "a", "ä", "a", "é", "e", "è", "e", "ê", "e", "ë", "e", "î", "i", "ï", "i",
	"ô", "o", "ö", "o", "ù", "u", "û", "u", "ü", "u", "ç", "c", "œ", "oe", "æ", "ae", "ÿ", "y",
)

// foldWords lowers, strips French accents and splits on anything that is
// not a letter or a digit.
func foldWords(s string) []string {
	return strings.FieldsFunc(unaccented.Replace(strings.ToLower(s)), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// IsAcknowledgement reports whether an SMS reply acknowledges the message:
// it says it was received or understood (OK, oui, bien reçu, c'est noté,
// d'accord, pris en compte, 👍…), wherever among greetings and thanks, or
// it carries the activation's code; and it neither refuses nor corrects.
func IsAcknowledgement(body, code string) bool {
	words := foldWords(body)
	for _, w := range words {
		if slices.Contains(refusalWords, w) {
			return false
		}
	}
	if code != "" && slices.Contains(words, code) {
		return true
	}
	for _, sign := range ackSigns {
		if strings.Contains(body, sign) {
			return true
		}
	}
	for i := range words {
		for _, p := range ackPhrases {
			if i+len(p) <= len(words) && slices.Equal(words[i:i+len(p)], p) {
				return true
			}
		}
	}
	return false
}

// Concerns of a reply that is not an acknowledgement: what the duty
// officer has to do about it.
const (
	ConcernStop     = "désinscription" // STOP: Twilio no longer delivers SMS to the number
	ConcernNumber   = "numéro erroné"  // the number is not the official's
	ConcernOfficial = "élu à changer"  // no longer mayor, no longer in office
	ConcernQuestion = "question"
	ConcernOther    = "à lire"
)

// ReplyConcern says what a reply that does not acknowledge is about, for
// the duty officer's inbox: a refusal to receive (STOP), a wrong number,
// an official who no longer holds the office, a question, or something
// else to read.
func ReplyConcern(body string) string {
	words := foldWords(body)
	has := func(seq ...string) bool {
		for i := 0; i+len(seq) <= len(words); i++ {
			if slices.Equal(words[i:i+len(seq)], seq) {
				return true
			}
		}
		return false
	}
	switch {
	case has("stop"), has("arret"), has("desabonner"), has("desinscrire"):
		return ConcernStop
	case has("mauvais", "numero"), has("faux", "numero"), has("erreur", "de", "numero"), has("pas", "le", "bon"), has("ne", "suis", "pas"), has("connais", "pas"):
		return ConcernNumber
	case has("plus", "maire"), has("plus", "elu"), has("plus", "en", "fonction"), has("decede"), has("demission"):
		return ConcernOfficial
	case strings.Contains(body, "?"):
		return ConcernQuestion
	}
	return ConcernOther
}
