// Package playbook reads the scenario files of playbooks/ and renders
// their messages.
//
// A playbook is one YAML file:
//
//	id: crue-inondation              # unique across the files
//	title: Crue de la Seine          # one line
//	exercise: false                  # true: every activation is an exercise
//	deadline: 1h                     # to inform everyone; default 1h, at most 24h
//	audience:                        # who; at least one of:
//	  everyone: false                #   the whole directory
//	  arrondissements: [Rouen]       #   names, as in the directory
//	  communes: ["76351", "76341"]   #   INSEE codes
//	  within: {label: CNPE de Paluel, lat: 49.858, lon: 0.635, km: 20}
//	  roles: [maire, adjoint]        #   restricts the places above (or, alone, the whole directory)
//	message: >-                      # a text/template; see below
//	  Préfecture 76, {{.Heure}} : {{.Titre}}. {{.Nom}}, …
//	ladder:                          # escalation; default: SMS to mobiles at 0
//	  - {after: 0, channel: sms, targets: [mobile], retries: 1, retry_after: 5m}
//	  - {after: 10m, channel: voice, targets: [mobile, landline]}
//	  - {after: 20m, channel: sms, targets: [deputies]}
//	cip:                             # the public information cell; optional
//	  min_operators: 2               #   in position to activate it; default 1, at most 100
//	  announced_delay: 1h            #   its announced delay; default --cip-delay
//
// Rungs come in non-decreasing "after" order, the first at 0; targets are
// mobile, landline and deputies; an SMS rung cannot target landlines
// only; retries is 0 to 5; retry_after, how long after a failed attempt
// the retry goes, is 5s to 1h (default 5m for an SMS, 3m for a call).
//
// Messages are text/templates with French field names: {{.Commune}},
// {{.INSEE}}, {{.Nom}}, {{.Fonction}}, {{.Date}} (14/03/2026),
// {{.Heure}} (14h05, Europe/Paris), {{.Titre}}, {{.Code}} and {{.Note}};
// {{if}}, and, or, not, eq and ne, nothing else. Render starts an
// exercise's message with "EXERCICE - " and ends every message with the
// reply instruction unless the template prints {{.Code}} itself. Only an
// exercise playbook's message may speak of an exercise, and a message
// rendered with sample data (the longest commune name) must stay under
// 600 characters; aim for 320, two SMS.
//
// Reference names the communes, arrondissements and points validation
// checks against, so that this package does not depend on the
// directory; the wiring fills it from internal/directory.
//
// Invariants: a playbook that loads is complete (defaults filled in) and
// its message renders for any official; every error names its file and
// line, in French; loading is all or nothing, so a typo in one file stops
// the start instead of silently dropping a scenario.
package playbook
