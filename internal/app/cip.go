package app

import (
	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/twilio"
)

// publicLineTwiML renders what the CIP's public line says, in the
// configured voice.
type publicLineTwiML struct{ voice string }

func (v publicLineTwiML) line(l activation.PublicLine, dialAction string) (string, error) {
	return twilio.PublicLineTwiML(twilio.PublicLine{Open: l.Open, Message: l.Message, Numbers: l.Numbers, DialAction: dialAction, Voice: v.voice})
}

func (v publicLineTwiML) dialed(answered bool) (string, error) {
	return twilio.PublicDialedTwiML(answered, v.voice)
}
