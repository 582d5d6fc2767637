package twilio

import (
	"fmt"
	"strings"

	"github.com/prefecture76/tocsin/internal/tocsin"
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
	// Queue, when set, names the queue callers wait in (<Enqueue>) instead
	// of ringing Numbers at once: they hear the document at WaitURL while
	// they wait, and their leaving the queue is posted to LeftURL (the
	// Enqueue's action), whose answer ends the call. Numbers then only say
	// whether anyone is in position.
	Queue, WaitURL, LeftURL string
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
	if l.Queue != "" && len(l.Numbers) > 0 {
		verbs = append(verbs, say(sayPublicConnect, l.Voice), twiml.VoiceEnqueue{
			Name: l.Queue, WaitUrl: l.WaitURL, WaitUrlMethod: "POST", Action: l.LeftURL, Method: "POST",
		})
		return twiml.Voice(verbs) // the action's answer ends the call
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

// What the public line's queue says.
const (
	sayPublicHold     = "Tous nos opérateurs sont en ligne. Restez en ligne : un opérateur va vous répondre. En cas de danger immédiat, raccrochez et composez le 112."
	sayOperatorQueue  = "Ligne publique de la cellule d'information : un appel vous est transmis."
	sayOperatorNobody = "Plus personne n'attend sur la ligne publique. Merci."
	// publicHoldPause is how many seconds of silence follow the hold
	// message before Twilio asks the wait URL again (and the caller hears
	// their place again).
	publicHoldPause = "20"
	// operatorQueueTimeout is how many seconds an operator who picked up
	// waits on an empty queue for the next caller.
	operatorQueueTimeout = "20"
)

// PlaceInQueue says a caller's place in the queue in French: « Vous êtes
// la 1re personne en attente », « … la 3e … ».
func PlaceInQueue(position int) string {
	switch {
	case position <= 1:
		return "Vous êtes la 1re personne en attente."
	default:
		return fmt.Sprintf("Vous êtes la %de personne en attente.", position)
	}
}

// PublicWaitTwiML is the document a caller in the queue hears (the
// Enqueue's waitUrl), played again each time it ends: their place, the
// hold message, a pause. stay false makes the caller leave the queue
// (<Leave>): the CIP was closed or nobody is in position any more; the
// Enqueue's action then tells them.
func PublicWaitTwiML(position int, stay bool, voice string) (string, error) {
	if !stay {
		return twiml.Voice([]twiml.Element{twiml.VoiceLeave{}})
	}
	return twiml.Voice([]twiml.Element{
		say(PlaceInQueue(position), voice),
		say(sayPublicHold, voice),
		twiml.VoicePause{Length: publicHoldPause},
	})
}

// PublicLeftTwiML answers the Enqueue's action, once the caller left the
// queue with Twilio's QueueResult: nothing more after a conversation or
// a hang-up; otherwise the closing message when the CIP was closed, the
// overflow message when nobody is in position any more (or an error).
func PublicLeftTwiML(result string, closed bool, voice string) (string, error) {
	over := result == tocsin.QueueBridged || result == tocsin.QueueHangup
	if closed && !over {
		return twiml.Voice([]twiml.Element{say(sayPublicClosed, voice), twiml.VoiceHangup{}})
	}
	return PublicDialedTwiML(over, voice)
}

// OperatorQueueTwiML is what an operator called for the queue hears once
// they pick up: a word, then the next caller of the queue (<Dial><Queue>);
// when nobody waits any more after operatorQueueTimeout seconds, a last
// word.
func OperatorQueueTwiML(queue, voice string) (string, error) {
	if queue == "" || len(queue) > 64 {
		return "", fmt.Errorf("twilio: operator twiml: queue name %.70q is empty or longer than 64 characters", queue)
	}
	return twiml.Voice([]twiml.Element{
		say(sayOperatorQueue, voice),
		twiml.VoiceDial{Timeout: operatorQueueTimeout, InnerElements: []twiml.Element{twiml.VoiceQueue{Name: queue}}},
		say(sayOperatorNobody, voice),
		twiml.VoiceHangup{},
	})
}
