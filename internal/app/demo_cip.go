package app

import (
	"context"
	"fmt"
	"time"

	"github.com/prefecture76/tocsin/internal/tocsin"
	"github.com/prefecture76/tocsin/internal/twiliosim"
)

// The demo's CIP: on the demo activation, the CIP is opened, its first
// operators are noted in position, and the simulator places callers on
// the public line, one every demoCallerEvery (scaled as every simulated
// delay), who wait up to demoCallerPatience in the queue: the CIP's page
// moves as they wait, are answered or hang up.
const (
	demoCallers        = 60
	demoCallerEvery    = 15 * time.Second
	demoCallerPatience = 3 * time.Minute
	demoInPosition     = 3
	// demoLineNumber is the public line's number in the demo, in ARCEP's
	// fiction landline range.
	demoLineNumber = "+33261910076"
	demoMessage    = "Exercice. Un exercice de crise est en cours dans le département. Il n'y a aucun danger. Aucune action n'est attendue de votre part."
)

// demoCIP opens the CIP of the demo activation id and sends callers to
// its public line. Only with the simulator.
func (a *App) demoCIP(ctx context.Context, id string) error {
	if a.sim == nil {
		return nil
	}
	demo := tocsin.User{Name: DemoUser, Role: tocsin.RoleOfficer}
	if m, err := a.store.PublicMessage(ctx); err != nil {
		return err
	} else if m == nil {
		if _, err := a.service.SetPublicMessage(ctx, demo, demoMessage); err != nil {
			return fmt.Errorf("public message: %w", err)
		}
	}
	c, err := a.service.OpenCIP(ctx, demo, id)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	for i, o := range c.Operators {
		if i == demoInPosition {
			break
		}
		if _, err := a.service.MarkOperator(ctx, demo, id, o.ID, tocsin.OperatorInPosition); err != nil {
			return fmt.Errorf("operator %s in position: %w", o.ID, err)
		}
	}
	err = a.sim.Arrivals(twiliosim.Caller{URL: a.publicURL + "/twilio/voice/public", To: demoLineNumber, Patience: demoCallerPatience},
		demoCallers, demoCallerEvery)
	if err != nil {
		return fmt.Errorf("callers: %w", err)
	}
	a.log.Info("demo cip opened", "activation", id, "in_position", min(demoInPosition, len(c.Operators)), "callers", demoCallers)
	return nil
}
