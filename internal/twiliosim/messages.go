package twiliosim

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Message directions.
const (
	DirectionOutbound = "outbound-api" // created through the REST API
	DirectionInbound  = "inbound"      // an official's reply
)

// Message statuses, as Twilio names them.
const (
	statusAccepted    = "accepted"
	statusQueued      = "queued"
	statusSent        = "sent"
	statusDelivered   = "delivered"
	statusUndelivered = "undelivered"
	statusFailed      = "failed"
	statusReceived    = "received"
)

// Message is one SMS as the simulator records it.
type Message struct {
	SID                 string    `json:"sid"`
	AccountSID          string    `json:"account_sid"`
	MessagingServiceSID string    `json:"messaging_service_sid,omitempty"`
	Direction           string    `json:"direction"`
	From                string    `json:"from"`
	To                  string    `json:"to"`
	Body                string    `json:"body"`
	Status              string    `json:"status"`
	ErrorCode           int       `json:"error_code,omitempty"`
	NumSegments         int       `json:"num_segments"`
	Encoding            Encoding  `json:"encoding"`
	StatusCallback      string    `json:"status_callback,omitempty"`
	Behaviour           Behaviour `json:"behaviour,omitempty"`   // the recipient's, for an outbound message
	InReplyTo           string    `json:"in_reply_to,omitempty"` // for a reply: the SID of the message answered
	// FaultServed is the HTTP status an injected after-create fault
	// answered the create request with, 0 when the client got its 201.
	FaultServed int       `json:"fault_served,omitempty"`
	DateCreated time.Time `json:"date_created"`
	DateUpdated time.Time `json:"date_updated"`
	DateSent    time.Time `json:"date_sent,omitzero"`
	seq         int
}

// messagePlan is what will happen to an accepted message, fixed at create.
type messagePlan struct {
	sentAfter  time.Duration // from create
	finalAfter time.Duration // from sent
	final      string        // delivered, undelivered, failed
	errorCode  int
	reply      bool
	replyAfter time.Duration // from delivery
	replyBody  string
}

var codePattern = regexp.MustCompile(`(?i)code[^0-9]{0,20}([0-9]{4})(?:[^0-9]|$)`)

// replyText is what a Reply official answers to body.
func replyText(p Persona, body string) string {
	switch p.Reply {
	case "":
		return "OK"
	case ReplyCode:
		if m := codePattern.FindStringSubmatch(body); m != nil {
			return m[1]
		}
		return "OK"
	default:
		return p.Reply
	}
}

var (
	serviceSIDPattern = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	alphanumericFrom  = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	hasLetter         = regexp.MustCompile(`[A-Za-z]`)
)

func isAlphanumericSender(from string) bool {
	return alphanumericFrom.MatchString(from) && hasLetter.MatchString(from)
}

func (s *Simulator) createMessage(w http.ResponseWriter, r *http.Request) {
	if e := parseForm(w, r); e != nil {
		writeError(w, e)
		return
	}
	f := r.PostForm
	to, from, service := f.Get("To"), f.Get("From"), f.Get("MessagingServiceSid")
	body, callback := f.Get("Body"), f.Get("StatusCallback")

	s.mu.Lock()
	persona := s.profile.PersonaFor(to)
	e := s.checkMessage(to, from, service, body, callback, f["MediaUrl"], persona)
	if e != nil {
		s.stats.Rejected++
		s.mu.Unlock()
		s.log.Info("message refused", "to", mask(to), "code", e.Code)
		writeError(w, e)
		return
	}
	now := s.clock.Now().UTC()
	if !s.msgLimit.take(now) {
		s.stats.RateLimited++
		s.mu.Unlock()
		writeError(w, errTooManyRequests())
		return
	}
	m := &Message{
		SID:                 newSID("SM"),
		AccountSID:          s.accountSID,
		MessagingServiceSID: service,
		Direction:           DirectionOutbound,
		From:                from,
		To:                  to,
		Body:                body,
		Status:              statusQueued,
		StatusCallback:      callback,
		Behaviour:           behaviourOf(persona),
		DateCreated:         now,
		DateUpdated:         now,
		seq:                 len(s.messages),
	}
	m.NumSegments, m.Encoding = Segments(body)
	if service != "" {
		// Twilio picks the sender from the service's pool when it sends.
		m.Status, m.NumSegments = statusAccepted, 0
	}
	s.messages = append(s.messages, m)
	s.msgBySID[m.SID] = m
	s.stats.Messages++
	plan := s.planMessage(m, persona)
	s.mu.Unlock()

	s.log.Info("message accepted", "sid", m.SID, "to", mask(to), "behaviour", m.Behaviour)
	s.after(plan.sentAfter, func() { s.messageSent(m.SID, plan) })

	if fault, ok := s.takeFault(ResourceMessages, true); ok {
		s.mu.Lock()
		m.FaultServed = fault.Status
		s.mu.Unlock()
		s.log.Info("fault served after create", "sid", m.SID, "status", fault.Status)
		writeError(w, errStatus(fault.Status))
		return
	}
	s.mu.Lock()
	out := s.messageJSON(m)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

// checkMessage returns the error Twilio answers a create with, if any,
// in the order Twilio checks. Called with s.mu held.
func (s *Simulator) checkMessage(to, from, service, body, callback string, media []string, p Persona) *apiError {
	switch {
	case to == "":
		return badRequest(CodeNoMessageTo, "A 'To' phone number is required.")
	case from == "" && service == "":
		return badRequest(CodeNoFrom, "A 'From' phone number is required.")
	case service != "" && !serviceSIDPattern.MatchString(service):
		return badRequest(CodeInvalidService, "The Messaging Service Sid %s is invalid.", service)
	case from != "" && !e164.MatchString(from) && !isAlphanumericSender(from):
		return badRequest(CodeInvalidFrom, "The 'From' number %s is not a valid phone number, shortcode, or alphanumeric sender ID.", from)
	case from != "" && e164.MatchString(from) && len(s.numbers) > 0 && !slices.Contains(s.numbers, from):
		return badRequest(CodeFromNotOwned, "The From phone number %s is not a valid, SMS-capable inbound phone number or short code for your account.", from)
	case !e164.MatchString(to):
		return badRequest(CodeInvalidTo, "The 'To' number %s is not a valid phone number.", to)
	case body == "" && len(media) == 0:
		return badRequest(CodeNoBody, "Message body is required.")
	case utf8.RuneCountInString(body) > 1600:
		return badRequest(CodeBodyTooLong, "The concatenated message body exceeds the 1600 character limit.")
	case callback != "" && !validWebhookURL(callback):
		return badRequest(CodeInvalidCallback, "The StatusCallback URL %s is not a valid URL.", callback)
	}
	switch p.Behaviour {
	case Invalid:
		return badRequest(CodeInvalidTo, "The 'To' number %s is not a valid phone number.", to)
	case Landline:
		return badRequest(CodeNotMobile, "'To' number %s is not a valid mobile number", to)
	case Unsubscribed:
		return badRequest(CodeUnsubscribed, "Attempt to send to unsubscribed recipient")
	}
	return nil
}

func behaviourOf(p Persona) Behaviour {
	if p.Behaviour == "" {
		return Silent
	}
	return p.Behaviour
}

// planMessage fixes the delays and the outcome of m. Called with s.mu held.
func (s *Simulator) planMessage(m *Message, p Persona) messagePlan {
	prof := &s.profile
	delivery := prof.scale(prof.Delivery.pick(m.To, "delivery"))
	plan := messagePlan{sentAfter: delivery / 2, finalAfter: delivery - delivery/2, final: statusDelivered}
	switch p.Behaviour {
	case CarrierFailure:
		plan.final, plan.errorCode = statusUndelivered, p.ErrorCode
		if p.Status == statusFailed {
			plan.final = statusFailed
		}
		if plan.errorCode == 0 {
			plan.errorCode = CodeUnreachable
		}
	case Reply:
		if m.MessagingServiceSID == "" && isAlphanumericSender(m.From) {
			// Nobody can answer an alphanumeric sender.
			break
		}
		plan.reply = true
		plan.replyAfter = prof.scale(p.Delay.pick(m.To, "reply"))
		plan.replyBody = replyText(p, m.Body)
	}
	return plan
}

// messageSent moves a message to sent (or straight to failed) and
// schedules what follows.
func (s *Simulator) messageSent(sid string, plan messagePlan) {
	if plan.final == statusFailed {
		s.setMessageStatus(sid, statusFailed, plan.errorCode)
		return
	}
	s.setMessageStatus(sid, statusSent, 0)
	s.after(plan.finalAfter, func() {
		s.setMessageStatus(sid, plan.final, plan.errorCode)
		if plan.final == statusDelivered && plan.reply {
			s.after(plan.replyAfter, func() { s.reply(sid, plan.replyBody) })
		}
	})
}

// setMessageStatus records a status change and posts its status callback.
func (s *Simulator) setMessageStatus(sid, status string, code int) {
	s.mu.Lock()
	m := s.msgBySID[sid]
	now := s.clock.Now().UTC()
	m.Status, m.ErrorCode, m.DateUpdated = status, code, now
	if status == statusSent {
		m.DateSent = now
		if m.MessagingServiceSID != "" {
			if m.From == "" && len(s.numbers) > 0 {
				m.From = s.numbers[0]
			}
			m.NumSegments, m.Encoding = Segments(m.Body)
		}
	}
	callback := m.StatusCallback
	params := url.Values{
		"AccountSid":    {m.AccountSID},
		"ApiVersion":    {apiVersion},
		"From":          {m.From},
		"MessageSid":    {m.SID},
		"MessageStatus": {status},
		"SmsSid":        {m.SID},
		"SmsStatus":     {status},
		"To":            {m.To},
	}
	if m.MessagingServiceSID != "" {
		params.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	if code != 0 {
		params.Set("ErrorCode", strconv.Itoa(code))
	}
	s.mu.Unlock()

	s.log.Debug("message status", "sid", sid, "status", status, "error_code", code)
	if callback != "" {
		s.post("status callback", callback, params)
	}
}

// reply records an official's answer to the message sid and posts it to
// the SMS URL as an incoming message.
func (s *Simulator) reply(sid, body string) {
	s.mu.Lock()
	orig := s.msgBySID[sid]
	now := s.clock.Now().UTC()
	to := orig.From
	if to == "" {
		to = orig.MessagingServiceSID
	}
	m := &Message{
		SID:                 newSID("SM"),
		AccountSID:          s.accountSID,
		MessagingServiceSID: orig.MessagingServiceSID,
		Direction:           DirectionInbound,
		From:                orig.To,
		To:                  to,
		Body:                body,
		Status:              statusReceived,
		InReplyTo:           orig.SID,
		DateCreated:         now,
		DateUpdated:         now,
		DateSent:            now,
		seq:                 len(s.messages),
	}
	m.NumSegments, m.Encoding = Segments(body)
	s.messages = append(s.messages, m)
	s.msgBySID[m.SID] = m
	s.stats.Replies++
	smsURL := s.smsURL
	params := url.Values{
		"AccountSid":    {m.AccountSID},
		"ApiVersion":    {apiVersion},
		"Body":          {m.Body},
		"From":          {m.From},
		"MessageSid":    {m.SID},
		"NumMedia":      {"0"},
		"NumSegments":   {strconv.Itoa(m.NumSegments)},
		"SmsMessageSid": {m.SID},
		"SmsSid":        {m.SID},
		"SmsStatus":     {statusReceived},
		"To":            {m.To},
	}
	if m.MessagingServiceSID != "" {
		params.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	s.mu.Unlock()

	if smsURL == "" {
		s.log.Warn("reply recorded but not posted: no SMS URL", "sid", m.SID, "from", mask(m.From))
		return
	}
	s.log.Info("reply", "sid", m.SID, "from", mask(m.From), "in_reply_to", orig.SID)
	s.post("incoming message", smsURL, params)
}

func (s *Simulator) fetchMessage(w http.ResponseWriter, r *http.Request) {
	fetch(s, w, r, s.msgBySID, s.messageJSON)
}

// fetch serves one resource by the SID in the path, encoded under the
// simulator's lock, or Twilio's 404.
func fetch[T, J any](s *Simulator, w http.ResponseWriter, r *http.Request, bySID map[string]T, encode func(T) J) {
	sid, ok := resourceSID(r)
	s.mu.Lock()
	item, found := bySID[sid]
	var out J
	if found {
		out = encode(item)
	}
	s.mu.Unlock()
	if !ok || !found {
		writeError(w, errNotFound(r.URL.Path))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// listMessages serves Messages.json: newest first, filtered by To, From
// and the day-granular DateSent filters.
func (s *Simulator) listMessages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, e := parsePage(r, q)
	if e != nil {
		writeError(w, e)
		return
	}
	to := keepString(q, "To", &p.keep)
	from := keepString(q, "From", &p.keep)
	sent, e := parseDayFilter(q, "DateSent", &p.keep)
	if e != nil {
		writeError(w, e)
		return
	}

	s.mu.Lock()
	var items []*Message
	for i := len(s.messages) - 1; i >= 0; i-- {
		m := s.messages[i]
		if (to == "" || m.To == to) && (from == "" || m.From == from) && sent.match(m.DateSent) {
			items = append(items, m)
		}
	}
	pageItems, meta, e := paginate(p, items,
		func(m *Message) string { return m.SID },
		func(m *Message) int { return m.seq },
		func(sid string) (int, bool) {
			m, ok := s.msgBySID[sid]
			if !ok {
				return 0, false
			}
			return m.seq, true
		})
	out := messageList{listMeta: meta, Messages: make([]messageJSON, 0, len(pageItems))}
	for _, m := range pageItems {
		out.Messages = append(out.Messages, s.messageJSON(m))
	}
	s.mu.Unlock()
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

type messageList struct {
	listMeta
	Messages []messageJSON `json:"messages"`
}

// messageJSON is the Message resource exactly as Twilio writes it,
// nulls included.
type messageJSON struct {
	AccountSid          string            `json:"account_sid"`
	APIVersion          string            `json:"api_version"`
	Body                string            `json:"body"`
	DateCreated         string            `json:"date_created"`
	DateSent            *string           `json:"date_sent"`
	DateUpdated         string            `json:"date_updated"`
	Direction           string            `json:"direction"`
	ErrorCode           *int              `json:"error_code"`
	ErrorMessage        *string           `json:"error_message"`
	From                *string           `json:"from"`
	MessagingServiceSid *string           `json:"messaging_service_sid"`
	NumMedia            string            `json:"num_media"`
	NumSegments         string            `json:"num_segments"`
	Price               *string           `json:"price"`
	PriceUnit           string            `json:"price_unit"`
	Sid                 string            `json:"sid"`
	Status              string            `json:"status"`
	SubresourceUris     map[string]string `json:"subresource_uris"`
	To                  string            `json:"to"`
	URI                 string            `json:"uri"`
}

// messageJSON renders m. Called with s.mu held.
func (s *Simulator) messageJSON(m *Message) messageJSON {
	base := "/" + apiVersion + "/Accounts/" + m.AccountSID + "/Messages/" + m.SID
	out := messageJSON{
		AccountSid:          m.AccountSID,
		APIVersion:          apiVersion,
		Body:                m.Body,
		DateCreated:         twilioTime(m.DateCreated),
		DateSent:            optionalTime(m.DateSent),
		DateUpdated:         twilioTime(m.DateUpdated),
		Direction:           m.Direction,
		From:                optionalString(m.From),
		MessagingServiceSid: optionalString(m.MessagingServiceSID),
		NumMedia:            "0",
		NumSegments:         strconv.Itoa(m.NumSegments),
		PriceUnit:           "USD",
		Sid:                 m.SID,
		Status:              m.Status,
		SubresourceUris: map[string]string{
			"media":    base + "/Media.json",
			"feedback": base + "/Feedback.json",
		},
		To:  m.To,
		URI: base + ".json",
	}
	if m.ErrorCode != 0 {
		code := m.ErrorCode
		out.ErrorCode = &code
		msg, ok := deliveryErrorMessages[code]
		if !ok {
			msg = "Delivery failed"
		}
		out.ErrorMessage = &msg
	}
	return out
}
