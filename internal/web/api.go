package web

import (
	"fmt"
	"net/http"

	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

func (s *Server) createActivation(w http.ResponseWriter, r *http.Request) error {
	var req activation.Request
	if err := decode(w, r, &req); err != nil {
		return err
	}
	v, err := s.cfg.Activations.Create(r.Context(), userFrom(r.Context()), req)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/activations/"+v.ID)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// writeActivation answers an activation as it stands now, with its
// recipients, timeline and forecast.
func (s *Server) writeActivation(w http.ResponseWriter, r *http.Request, id string, status int) error {
	v, err := s.cfg.Activations.Get(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}

// previewActivation shows what an activation would send, and stores nothing.
func (s *Server) previewActivation(w http.ResponseWriter, r *http.Request) error {
	var req activation.Request
	if err := decode(w, r, &req); err != nil {
		return err
	}
	p, err := s.cfg.Activations.Preview(r.Context(), userFrom(r.Context()), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (s *Server) listActivations(w http.ResponseWriter, r *http.Request) error {
	vs, err := s.cfg.Activations.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"activations": vs})
	return nil
}

func (s *Server) getActivation(w http.ResponseWriter, r *http.Request) error {
	return s.writeActivation(w, r, r.PathValue("id"), http.StatusOK)
}

func (s *Server) closeActivation(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.cfg.Activations.Close(r.Context(), userFrom(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return s.writeActivation(w, r, r.PathValue("id"), http.StatusOK)
}

// activateCIP records the public information cell's activation; the body,
// {"note": "..."}, may be empty.
func (s *Server) activateCIP(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Note string `json:"note"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, &req); err != nil {
			return err
		}
	}
	if _, err := s.cfg.Activations.ActivateCIP(r.Context(), userFrom(r.Context()), r.PathValue("id"), req.Note); err != nil {
		return err
	}
	return s.writeActivation(w, r, r.PathValue("id"), http.StatusOK)
}

func (s *Server) confirmRecipient(w http.ResponseWriter, r *http.Request) error {
	var req activation.ConfirmRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	rc, err := s.cfg.Activations.Confirm(r.Context(), userFrom(r.Context()), r.PathValue("id"), r.PathValue("official"), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rc)
	return nil
}

func (s *Server) listOfficials(w http.ResponseWriter, r *http.Request) error {
	os, err := s.cfg.Store.Officials(r.Context())
	if err != nil {
		return err
	}
	if os == nil {
		os = []tocsin.Official{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"officials": os, "count": len(os)})
	return nil
}

// maxCSV bounds a directory import.
const maxCSV = 16 << 20

// importOfficials replaces the directory with a CSV body, all or nothing.
func (s *Server) importOfficials(w http.ResponseWriter, r *http.Request) error {
	officials, err := s.cfg.ParseOfficials(http.MaxBytesReader(w, r.Body, maxCSV))
	if err != nil {
		return err
	}
	by := userFrom(r.Context()).Name
	if err := s.cfg.Store.ReplaceOfficials(r.Context(), officials,
		auditEntry(by, tocsin.AuditImport, fmt.Sprintf("annuaire importé par l'API : %d élus", len(officials)))); err != nil {
		return err
	}
	s.log.Info("directory imported", "officials", len(officials), "by", by)
	s.drainAudit(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"imported": len(officials)})
	return nil
}

// fixNumbers replaces one official's numbers in the directory and in the
// open activations: {"mobile": ["06 …"], "fixe": ["02 …"]}.
func (s *Server) fixNumbers(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Mobile []string `json:"mobile"`
		Fixe   []string `json:"fixe"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	numbers, err := s.cfg.ParseNumbers(body.Mobile, body.Fixe)
	if err != nil {
		return err
	}
	res, err := s.cfg.Fixes.FixNumbers(r.Context(), userFrom(r.Context()), r.PathValue("official"), numbers)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// listReplies returns an activation's inbox: the replies that did not
// acknowledge, newest first, with whether they were handled.
func (s *Server) listReplies(w http.ResponseWriter, r *http.Request) error {
	v, err := s.cfg.Activations.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	items, err := s.cfg.Replies.Inbox(r.Context(), v)
	if err != nil {
		return err
	}
	if items == nil {
		items = []activation.InboxItem{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"replies": items})
	return nil
}

// handleReply marks a reply of the inbox handled.
func (s *Server) handleReply(w http.ResponseWriter, r *http.Request) error {
	if err := s.cfg.Replies.HandleReply(r.Context(), userFrom(r.Context()), r.PathValue("id"), r.PathValue("seq")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// postMessage sends a follow-up message of an activation to its
// audience: {"text": "..."}; 201 with the message as recorded.
func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Text string `json:"text"`
	}
	if err := decode(w, r, &req); err != nil {
		return err
	}
	f, err := s.cfg.Messages.SendMessage(r.Context(), userFrom(r.Context()), r.PathValue("id"), req.Text)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, f)
	return nil
}

func (s *Server) listPlaybooks(w http.ResponseWriter, r *http.Request) error {
	pbs := s.cfg.Playbooks()
	if pbs == nil {
		pbs = []tocsin.Playbook{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"playbooks": pbs})
	return nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, userFrom(r.Context()))
	return nil
}
