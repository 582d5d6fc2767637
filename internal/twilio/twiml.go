package twilio

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/twilio/twilio-go/twiml"
)

// What a call says besides the alert. Twilio reads them in French.
const (
	sayLanguage     = "fr-FR"
	sayPressOne     = "Appuyez sur 1 pour confirmer la réception."
	sayNotConfirmed = "Message non confirmé. La préfecture vous rappellera."
	sayWrongKey     = "Touche non reconnue."
	sayConfirmed    = "Réception confirmée. Merci."
	sayAlreadyDone  = "Cette alerte a déjà été confirmée. Merci."
)

// MaxPlays is how many times a call says the alert: once, then once more
// when no key or another key than AckDigit was pressed.
const MaxPlays = 2

// PlayParam is the query parameter that the TwiML builders add to the URLs
// they write, the Redirect to the repeat and the Gather action, to say
// which playing of the alert (1 to MaxPlays) the request follows. ParsePlay
// reads it back.
const PlayParam = "play"

// gatherTimeout is how many seconds the call waits for a key after the
// alert and the "press 1" prompt were said.
const gatherTimeout = "8"

// Prompt is what a call says and where Twilio goes next. The web layer
// builds it for each TwiML request from the attempt the URLs carry.
type Prompt struct {
	// Text is the alert, said as written; the XML escaping is the TwiML
	// library's. Characters that XML cannot carry (control characters,
	// invalid UTF-8) are dropped.
	Text string
	// TwiMLURL is the absolute URL Twilio fetches the call's TwiML from
	// (the Url given to Call). The repeat is a Redirect to it with
	// PlayParam set to the next playing.
	TwiMLURL string
	// GatherURL is the absolute URL Twilio posts the key pressed to (the
	// Gather action), with PlayParam set to the playing it was pressed in.
	GatherURL string
	// Voice is the Twilio voice, such as "Polly.Lea" or
	// "Google.fr-FR-Standard-A"; empty for Twilio's default voice for
	// fr-FR.
	Voice string
}

// MessageTwiML returns the TwiML of the play-th playing of the alert (1 for
// the first): inside a Gather of one key posted to GatherURL, the alert
// then "Appuyez sur 1 pour confirmer la réception."; if no key is pressed,
// a Redirect to TwiMLURL for the next playing, or after the last one a
// closing sentence and Hangup.
func MessageTwiML(p Prompt, play int) (string, error) {
	verbs, err := messageVerbs(p, play)
	if err != nil {
		return "", fmt.Errorf("twilio: message twiml: %w", err)
	}
	return twiml.Voice(verbs)
}

// WrongKeyTwiML answers a Gather whose key was not AckDigit, pressed during
// the play-th playing: "Touche non reconnue.", then the next playing as
// MessageTwiML says it, or after the last one the closing sentence and
// Hangup. Wrong keys and silences share the MaxPlays playings: the alert
// is repeated once in all.
func WrongKeyTwiML(p Prompt, play int) (string, error) {
	if err := checkPlay(play); err != nil {
		return "", fmt.Errorf("twilio: wrong key twiml: %w", err)
	}
	verbs := []twiml.Element{say(sayWrongKey, p.Voice)}
	if play >= MaxPlays {
		verbs = append(verbs, say(sayNotConfirmed, p.Voice), twiml.VoiceHangup{})
		return twiml.Voice(verbs)
	}
	next, err := messageVerbs(p, play+1)
	if err != nil {
		return "", fmt.Errorf("twilio: wrong key twiml: %w", err)
	}
	return twiml.Voice(append(verbs, next...))
}

// ConfirmTwiML answers the Gather that acknowledged: "Réception confirmée.
// Merci.", then Hangup. voice is as Prompt.Voice.
func ConfirmTwiML(voice string) (string, error) {
	return twiml.Voice([]twiml.Element{say(sayConfirmed, voice), twiml.VoiceHangup{}})
}

// AlreadyInformedTwiML is said instead of the alert when the official was
// informed by another way since the call was placed: "Cette alerte a déjà
// été confirmée. Merci.", then Hangup. voice is as Prompt.Voice.
func AlreadyInformedTwiML(voice string) (string, error) {
	return twiml.Voice([]twiml.Element{say(sayAlreadyDone, voice), twiml.VoiceHangup{}})
}

// ParsePlay reads PlayParam from the query of a TwiML request or a Gather
// action: 1 when absent (the call's first request), else a number from 1
// to MaxPlays. Errors wrap ErrInvalidWebhook.
func ParsePlay(query url.Values) (int, error) {
	s := query.Get(PlayParam)
	if s == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || checkPlay(n) != nil {
		return 0, fmt.Errorf("%w: %s %.8q is not a playing from 1 to %d", ErrInvalidWebhook, PlayParam, s, MaxPlays)
	}
	return n, nil
}

func messageVerbs(p Prompt, play int) ([]twiml.Element, error) {
	if err := checkPlay(play); err != nil {
		return nil, err
	}
	text := sayable(p.Text)
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("no text to say")
	}
	action, err := withPlay("GatherURL", p.GatherURL, play)
	if err != nil {
		return nil, err
	}
	verbs := []twiml.Element{twiml.VoiceGather{
		Input:     "dtmf",
		NumDigits: "1",
		Action:    action,
		Method:    "POST",
		Timeout:   gatherTimeout,
		InnerElements: []twiml.Element{
			say(text, p.Voice),
			say(sayPressOne, p.Voice),
		},
	}}
	if play < MaxPlays {
		again, err := withPlay("TwiMLURL", p.TwiMLURL, play+1)
		if err != nil {
			return nil, err
		}
		return append(verbs, twiml.VoiceRedirect{Url: again, Method: "POST"}), nil
	}
	return append(verbs, say(sayNotConfirmed, p.Voice), twiml.VoiceHangup{}), nil
}

func say(text, voice string) twiml.VoiceSay {
	return twiml.VoiceSay{Message: text, Language: sayLanguage, Voice: sayable(voice)}
}

func checkPlay(play int) error {
	if play < 1 || play > MaxPlays {
		return fmt.Errorf("playing %d is not from 1 to %d", play, MaxPlays)
	}
	return nil
}

// withPlay returns raw, an absolute http or https URL, with PlayParam set
// to play. The other parameters are kept, re-encoded in key order: Twilio
// requests and signs the URL as written here.
func withPlay(name, raw string, play int) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return "", fmt.Errorf("%s is empty", name)
	case err != nil:
		return "", fmt.Errorf("%s is not a valid URL", name)
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return "", fmt.Errorf("%s must be an absolute http or https URL", name)
	case u.Fragment != "" || u.User != nil:
		return "", fmt.Errorf("%s must not have credentials or a fragment", name)
	}
	q := u.Query()
	q.Set(PlayParam, strconv.Itoa(play))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// sayable drops what an XML document cannot carry: invalid UTF-8 and the
// characters outside XML 1.0's Char production. The TwiML library escapes
// markup but writes these as they are, which would make the whole
// document unreadable to Twilio. U+FFFD goes too: strings.Map hands
// invalid bytes over as it, and it has nothing to say.
func sayable(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t', r == '\n', r == '\r',
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r < 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return -1
	}, s)
}
