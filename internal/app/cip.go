package app

import (
	"context"
	"net/url"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twilio"
	"github.com/prefecture76/tocsin/internal/web"
)

// publicLineTwiML renders what the CIP's public line says, in the
// configured voice.
type publicLineTwiML struct{ voice string }

func (v publicLineTwiML) line(l activation.PublicLine, u web.PublicLineURLs) (string, error) {
	return twilio.PublicLineTwiML(twilio.PublicLine{Open: l.Open, Message: l.Message, Numbers: l.Numbers, DialAction: u.DialAction,
		Queue: u.Queue, WaitURL: u.WaitURL, LeftURL: u.LeftURL, Voice: v.voice})
}

func (v publicLineTwiML) dialed(answered bool) (string, error) {
	return twilio.PublicDialedTwiML(answered, v.voice)
}

// Wait, Left and Operator render what the public line's queue says.
func (v publicLineTwiML) Wait(position int, stay bool) (string, error) {
	return twilio.PublicWaitTwiML(position, stay, v.voice)
}

func (v publicLineTwiML) Left(result string, closed bool) (string, error) {
	return twilio.PublicLeftTwiML(result, closed, v.voice)
}

func (v publicLineTwiML) Operator(queue string) (string, error) {
	return twilio.OperatorQueueTwiML(queue, v.voice)
}

// callOperator places the call of an operator for the public line's
// queue: once picked up, Twilio asks /twilio/voice/public/operator for
// the TwiML that takes the queue's next caller; the call's progress goes
// to /twilio/voice/public/operator/status, with the desk's claim.
func (a *App) callOperator(ctx context.Context, to, act, operator, claim string) (string, error) {
	q := url.Values{"a": {act}}
	answer := a.publicURL + "/twilio/voice/public/operator?" + q.Encode()
	q.Set("o", operator)
	q.Set("k", claim)
	status := a.publicURL + "/twilio/voice/public/operator/status?" + q.Encode()
	sid, _, err := a.provider.Call(ctx, to, answer, status, tocsin.OperatorRing)
	return sid, err
}
