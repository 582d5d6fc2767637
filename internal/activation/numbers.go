package activation

import (
	"context"
	"fmt"
	"slices"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// DirectoryStore changes one official in the middle of a crisis.
type DirectoryStore interface {
	OfficialsVersion(ctx context.Context) ([]tocsin.Official, string, error)
	// ReplaceOfficial changes one official of the directory in force,
	// with audit in the same write.
	ReplaceOfficial(ctx context.Context, o tocsin.Official, audit ...tocsin.AuditEntry) error
	// IndexNumbers makes the numbers of add answer for official in an
	// open activation, and those of remove no longer.
	IndexNumbers(ctx context.Context, activation, official string, remove, add []string) error
}

// FixResult is what a correction of numbers changed.
type FixResult struct {
	Official tocsin.Official `json:"official"`
	// Activations are the open activations whose recipients took the new
	// numbers: the official's own, or as a deputy.
	Activations []string `json:"activations"`
}

// FixNumbers replaces an official's numbers, in the directory and in every
// open activation, for the attempts still to come: a number reported
// wrong at 3 a.m. is corrected once, and the ladder tries the new one at
// once on every rung already started. Replies from the new numbers count;
// from the old ones, no longer. Administrators only; audited.
func (s *Service) FixNumbers(ctx context.Context, by tocsin.User, officialID string, numbers []tocsin.Number) (*FixResult, error) {
	if by.Role != tocsin.RoleAdmin {
		return nil, tocsin.Errorf(tocsin.EForbidden, "seul un administrateur peut corriger les numéros d'un élu")
	}
	if s.directory == nil {
		return nil, tocsin.Errorf(tocsin.EUnavailable, "correction des numéros non disponible")
	}
	if len(numbers) == 0 {
		return nil, tocsin.FieldErrorf(tocsin.EInvalid, "numbers", "indiquez au moins un numéro, mobile ou fixe")
	}
	officials, _, err := s.directory.OfficialsVersion(ctx)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(officials, func(o tocsin.Official) bool { return o.ID == officialID })
	if i < 0 {
		return nil, tocsin.Errorf(tocsin.ENotFound, "aucun élu %q dans l'annuaire", officialID)
	}
	o := officials[i]
	before := o.Numbers
	o.Numbers = numbers
	now := s.now().UTC()
	detail := fmt.Sprintf("numéros de %s (%s) corrigés par %s : %s → %s", o.Name, o.ID, by.Name,
		tocsin.NumbersList(before), tocsin.NumbersList(numbers))
	if err := s.directory.ReplaceOfficial(ctx, o, tocsin.AuditEntry{At: now, Actor: by.Name, Action: tocsin.AuditNumbersFixed, Detail: detail}); err != nil {
		return nil, err
	}
	res := &FixResult{Official: o, Activations: []string{}}
	acts, err := s.store.Activations(ctx)
	if err != nil {
		return res, err
	}
	fix := tocsin.Fix{At: now, By: by.Name, Before: before, After: numbers}
	for i := range acts {
		a := &acts[i]
		if a.State != tocsin.Open {
			continue
		}
		changed, err := s.fixIn(ctx, a.ID, o, fix, detail)
		if err != nil {
			return res, err
		}
		if changed {
			res.Activations = append(res.Activations, a.ID)
		}
	}
	s.log.Info("official's numbers fixed", "official", o.ID, "by", by.Name, "activations", len(res.Activations))
	s.drain(ctx)
	return res, nil
}

// fixIn gives an open activation's recipients an official's new numbers:
// the official's own recipient, and those the official stands in for as a
// deputy. The number index takes the new numbers first, so that a reply
// to a message sent to one is matched.
func (s *Service) fixIn(ctx context.Context, activation string, o tocsin.Official, fix tocsin.Fix, detail string) (bool, error) {
	rs, err := s.store.Recipients(ctx, activation)
	if err != nil {
		return false, err
	}
	changed := false
	for _, r := range rs {
		own := r.Official.ID == o.ID
		deputy := slices.ContainsFunc(r.Deputies, func(c tocsin.Contact) bool { return c.ID == o.ID })
		if !own && !deputy {
			continue
		}
		if err := s.directory.IndexNumbers(ctx, activation, r.Official.ID, e164s(fix.Before), e164s(fix.After)); err != nil {
			return changed, err
		}
		entry := tocsin.AuditEntry{At: fix.At, Actor: fix.By, Action: tocsin.AuditNumbersFixed, Activation: activation, Detail: detail}
		_, err := s.store.UpdateRecipient(ctx, activation, r.Official.ID, func(a *tocsin.Activation, r *tocsin.Recipient) ([]tocsin.Event, error) {
			what := "ses numéros"
			if r.Official.ID == o.ID {
				r.Official.Numbers = fix.After
			} else {
				what = "les numéros de son suppléant " + o.Name
			}
			for k := range r.Deputies {
				if r.Deputies[k].ID == o.ID {
					r.Deputies[k].Numbers = fix.After
				}
			}
			r.Fixes = append(r.Fixes, fix)
			a.Refresh(r, fix.At)
			return []tocsin.Event{{At: fix.At, Kind: tocsin.EventNumbersFixed, Official: r.Official.ID,
				Detail: fmt.Sprintf("%s : %s corrigés par %s (%s → %s)", r.Official.Name, what, fix.By,
					tocsin.NumbersList(fix.Before), tocsin.NumbersList(fix.After))}}, nil
		}, entry)
		if err != nil {
			return changed, err
		}
		changed = true
	}
	return changed, nil
}

func e164s(ns []tocsin.Number) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.E164
	}
	return out
}
