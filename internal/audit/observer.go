package audit

// Observer is told what the trail does, for metrics; its methods must not
// block. A nil Observer observes nothing.
type Observer interface {
	// Appended reports n entries chained to the trail by way of via.
	Appended(via Via, n int)
	// Verified reports a verification: its result, or the error that
	// stopped it before one.
	Verified(res Result, err error)
}

// Via is the way entries reach the chain.
type Via string

// Ways to the chain.
const (
	ViaDirect     Via = "direct"     // Log.Append: an action that changes nothing but the trail
	ViaOutbox     Via = "outbox"     // Log.Drain: entries written with their changes
	ViaRecipients Via = "recipients" // Recipients: recipients' changes read from the store's history
)

func appended(o Observer, via Via, n int) {
	if o != nil && n > 0 {
		o.Appended(via, n)
	}
}
