package tocsin

import (
	"strings"
	"time"
)

// Fix is an administrator's correction of an official's numbers during an
// activation (a wrong number reported by the officer calling): the
// attempts still to come use the new ones.
type Fix struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Before []Number  `json:"before"`
	After  []Number  `json:"after"`
}

// Event kind and audit action of a correction of numbers.
const (
	EventNumbersFixed = "numbers_fixed"
	AuditNumbersFixed = "official.numbers"
)

// NumbersList writes numbers for people: « 06 12… (mobile), 02 35… (fixe) »
// in E.164, « aucun » when there is none.
func NumbersList(ns []Number) string {
	if len(ns) == 0 {
		return "aucun"
	}
	parts := make([]string, len(ns))
	for i, n := range ns {
		kind := "fixe"
		if n.Kind == Mobile {
			kind = "mobile"
		}
		parts[i] = n.E164 + " (" + kind + ")"
	}
	return strings.Join(parts, ", ")
}

// Handled records that a duty officer dealt with a reply of the inbox.
type Handled struct {
	At time.Time `json:"at"`
	By string    `json:"by"`
}

// Event kind and audit action of a reply handled.
const (
	EventReplyHandled = "reply_handled"
	AuditReplyHandled = "reply.handled"
)
