package twilio

import (
	"fmt"
	"strings"

	"github.com/twilio/twilio-go/twiml"
)

// What the public line says besides the public message.
const (
	sayPublicGreeting = "Préfecture de la Seine-Maritime, cellule d'information du public. Bonjour."
	sayPublicConnect  = "Nous vous mettons en relation avec un opérateur. Merci de patienter."
	sayPublicOverflow = "Tous nos opérateurs sont occupés. Merci de rappeler dans quelques minutes. En cas de danger immédiat, composez le 112."
	sayPublicClosed   = "La cellule d'information du public est fermée. Suivez les consignes des autorités à la radio et sur les sites officiels. En cas de danger immédiat, composez le 112."
)

// MaxDialed is how many numbers the public line rings at once: Twilio's
// bound for the Number nouns of one Dial.
const MaxDialed = 10

// publicDialTimeout is how many seconds the operators' phones ring before
// the caller hears the overflow message.
const publicDialTimeout = "25"

// PublicLine is what the public line answers a caller.
type PublicLine struct {
	// Open is false when no CIP is open: the caller hears that the cell
	// is closed.
	Open bool
	// Message is the public message in force, said after the greeting;
	// empty says none.
	Message string
	// Numbers are the E.164 numbers rung at once, those of the operators
	// in position; none: the overflow message. At most MaxDialed are
	// rung.
	Numbers []string
	// DialAction, when set, is the absolute URL Twilio posts the outcome
	// of the ringing to (the Dial's action); its answer (PublicDialedTwiML)
	// ends the call. Unset, the overflow message follows the Dial.
	DialAction string
	// Voice is as Prompt.Voice.
	Voice string
}

// PublicLineTwiML returns the TwiML of a call to the public line: the
// greeting and the public message, then a Dial that rings the operators'
// numbers at once, followed by the overflow message for when nobody
// answers; the overflow message alone when nobody is in position; the
// closing message when the CIP is not open.
func PublicLineTwiML(l PublicLine) (string, error) {
	verbs := []twiml.Element{say(sayPublicGreeting, l.Voice)}
	if !l.Open {
		verbs = append(verbs, say(sayPublicClosed, l.Voice), twiml.VoiceHangup{})
		return twiml.Voice(verbs)
	}
	if m := strings.TrimSpace(sayable(l.Message)); m != "" {
		verbs = append(verbs, say(m, l.Voice))
	}
	var numbers []twiml.Element
	for _, n := range l.Numbers {
		if len(numbers) == MaxDialed {
			break
		}
		if !strings.HasPrefix(n, "+") || len(n) < 8 || strings.TrimLeft(n[1:], "0123456789") != "" {
			return "", fmt.Errorf("twilio: public line twiml: %.20q is not an E.164 number", n)
		}
		numbers = append(numbers, twiml.VoiceNumber{PhoneNumber: n})
	}
	if len(numbers) > 0 {
		dial := twiml.VoiceDial{Timeout: publicDialTimeout, InnerElements: numbers}
		if l.DialAction != "" {
			dial.Action, dial.Method = l.DialAction, "POST"
		}
		verbs = append(verbs, say(sayPublicConnect, l.Voice), dial)
		if l.DialAction != "" {
			return twiml.Voice(verbs) // the action's answer ends the call
		}
	}
	verbs = append(verbs, say(sayPublicOverflow, l.Voice), twiml.VoiceHangup{})
	return twiml.Voice(verbs)
}

// PublicDialedTwiML answers the Dial's action once the operators' ringing
// ended: Hangup after a conversation, the overflow message when nobody
// took the call. voice is as Prompt.Voice.
func PublicDialedTwiML(answered bool, voice string) (string, error) {
	if answered {
		return twiml.Voice([]twiml.Element{twiml.VoiceHangup{}})
	}
	return twiml.Voice([]twiml.Element{say(sayPublicOverflow, voice), twiml.VoiceHangup{}})
}
