package app

import (
	"github.com/prefecture76/tocsin/internal/activation"
	"github.com/prefecture76/tocsin/internal/audit"
	"github.com/prefecture76/tocsin/internal/dispatch"
	"github.com/prefecture76/tocsin/internal/etcd"
	"github.com/prefecture76/tocsin/internal/exercise"
	"github.com/prefecture76/tocsin/internal/indicator"
	"github.com/prefecture76/tocsin/internal/oidc"
	"github.com/prefecture76/tocsin/internal/reconcile"
	"github.com/prefecture76/tocsin/internal/twilio"
	"github.com/prefecture76/tocsin/internal/web"
)

// What each engine and the HTTP layer need, checked at compile time
// against what the wiring gives them: the store serves a dozen small
// interfaces, each declared where it is used.
var (
	_ activation.Store          = (*etcd.Store)(nil)
	_ activation.HistoryStore   = (*etcd.Store)(nil)
	_ activation.RetexStore     = (*etcd.Store)(nil)
	_ activation.CreationStore  = (*etcd.Store)(nil)
	_ activation.DirectoryStore = (*etcd.Store)(nil)
	_ activation.InboxStore     = (*etcd.Store)(nil)
	_ activation.AuditTrail     = (*audit.Log)(nil)
	_ audit.Store               = (*etcd.Store)(nil)
	_ audit.RecipientStore      = (*etcd.Store)(nil)
	_ dispatch.Store            = (*etcd.Store)(nil)
	_ dispatch.SMS              = (*twilio.Provider)(nil)
	_ dispatch.Voice            = (*twilio.Provider)(nil)
	_ dispatch.URLs             = webhookURLs{}
	_ exercise.Store            = (*etcd.Store)(nil)
	_ indicator.Source          = (*etcd.Store)(nil)
	_ reconcile.Store           = (*etcd.Store)(nil)
	_ web.Activations           = (*activation.Service)(nil)
	_ web.Calls                 = (*activation.Service)(nil)
	_ web.Replies               = (*activation.Service)(nil)
	_ web.Fixes                 = (*activation.Service)(nil)
	_ web.Rushes                = (*activation.Service)(nil)
	_ web.Inbound               = (*activation.Service)(nil)
	_ web.Retexes               = (*activation.Service)(nil)
	_ web.Store                 = (*etcd.Store)(nil)
	_ web.Users                 = (*etcd.Store)(nil)
	_ web.Sessions              = (*etcd.Store)(nil)
	_ web.Throttle              = (*etcd.Store)(nil)
	_ web.SSOStore              = (*etcd.Store)(nil)
	_ web.SecondFactors         = (*etcd.Store)(nil)
	_ web.SecondFactors         = sealedFactors{}
	_ web.SSO                   = (*oidc.Provider)(nil)
	_ web.Activity              = (*etcd.Store)(nil)
	_ web.AuditLog              = (*audit.Log)(nil)
	_ web.History               = (*activation.Service)(nil)
	_ web.Routes                = (*etcd.Store)(nil)
	_ web.VoiceTwiML            = voiceTwiML{}
)

// The CIP: its roster and cells, its public line.
var (
	_ activation.CIPStore        = (*etcd.Store)(nil)
	_ activation.PublicLineStore = (*etcd.Store)(nil)
	_ web.CIPRoster              = (*etcd.Store)(nil)
	_ web.CIPCells               = (*activation.Service)(nil)
	_ web.PublicLines            = (*activation.Service)(nil)
)
