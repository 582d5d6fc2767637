package playbook

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

const (
	maxDeadline = 24 * time.Hour
	maxRetries  = 5
	// A retry sooner than minRetryAfter would hammer a number that just
	// failed; one later than maxRetryAfter is of no use within the hour.
	minRetryAfter = 5 * time.Second
	maxRetryAfter = time.Hour
	maxRungs      = 10
	maxTitleLen   = 100
	maxKm         = 200.0
	// maxCIPOperators bounds a CIP's minimum of operators in position.
	maxCIPOperators = 100
)

var (
	playbookKeys = []string{"id", "title", "exercise", "deadline", "audience", "message", "ladder", "cip"}
	cipKeys      = []string{"min_operators", "announced_delay"}
	audienceKeys = []string{"everyone", "arrondissements", "communes", "roles", "within"}
	circleKeys   = []string{"label", "lat", "lon", "km"}
	rungKeys     = []string{"after", "channel", "targets", "retries", "retry_after"}
	channels     = []string{string(tocsin.SMS), string(tocsin.Voice), string(tocsin.Manual)}
	targets      = []string{string(tocsin.TargetMobile), string(tocsin.TargetLandline), string(tocsin.TargetDeputies)}
)

// playbook fills pb from the top mapping and returns the line of its id.
func (p *parser) playbook(root *yaml.Node, pb *tocsin.Playbook) int {
	f := p.fields(root, "le scénario", playbookKeys...)
	for _, k := range []string{"id", "title", "audience", "message"} {
		if _, ok := f[k]; !ok {
			p.errorf(root, "clé %s manquante", quote(k))
		}
	}
	idLine := root.Line
	if v, ok := f["id"]; ok {
		idLine = v.key.Line
		if s, ok := p.text(v.val, "id"); ok {
			if tocsin.ValidID(s) {
				pb.ID = s
			} else {
				p.errorf(v.val, "identifiant invalide %s : lettres minuscules sans accent, chiffres, « . », « _ » et « - », 64 caractères au plus", quote(s))
			}
		}
	}
	if v, ok := f["title"]; ok {
		if s, ok := p.text(v.val, "title"); ok {
			switch {
			case strings.TrimSpace(s) == "":
				p.errorf(v.val, "titre vide")
			case utf8.RuneCountInString(s) > maxTitleLen || strings.ContainsAny(s, "\r\n"):
				p.errorf(v.val, "titre trop long : une ligne de %d caractères au plus", maxTitleLen)
			default:
				pb.Title = strings.TrimSpace(s)
			}
		}
	}
	if v, ok := f["exercise"]; ok {
		pb.Exercise, _ = p.boolean(v.val, "exercise")
	}
	pb.Deadline = tocsin.DefaultDeadline
	p.boundedDuration(f, "deadline", 1, maxDeadline, &pb.Deadline, "délai « deadline » hors limites : plus de 0 et 24h au plus")
	if v, ok := f["audience"]; ok {
		p.audience(v.key, v.val, &pb.Audience)
	}
	if v, ok := f["message"]; ok {
		if s, ok := p.text(v.val, "message"); ok {
			pb.Message = s
			p.message(v.val, pb)
		}
	}
	pb.Ladder = slices.Clone(tocsin.DefaultLadder)
	if v, ok := f["ladder"]; ok {
		if ladder, ok := p.ladder(v.val); ok {
			pb.Ladder = ladder
		}
	}
	if v, ok := f["cip"]; ok {
		pb.CIP = p.cip(v.val)
	}
	return idLine
}

// cip reads the « cip » section: how many operators in position activate
// the CIP, and its announced delay.
func (p *parser) cip(n *yaml.Node) *tocsin.PlaybookCIP {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "« cip » décrit la cellule d'information du public : min_operators, announced_delay")
		return nil
	}
	c := &tocsin.PlaybookCIP{MinOperators: tocsin.DefaultCIPMinOperators}
	f := p.fields(n, "cip", cipKeys...)
	p.boundedInt(f, "min_operators", 1, maxCIPOperators, &c.MinOperators,
		fmt.Sprintf("« min_operators » hors limites : de 1 à %d opérateurs en poste", maxCIPOperators))
	p.boundedDuration(f, "announced_delay", 1, maxDeadline, &c.AnnouncedDelay, "délai « announced_delay » hors limites : plus de 0 et 24h au plus")
	return c
}

// audience fills a from n; errors about the whole audience are reported
// on the line of its key.
func (p *parser) audience(key, n *yaml.Node, a *tocsin.Audience) {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "« audience » décrit qui informer : everyone, arrondissements, communes, roles ou within")
		return
	}
	before := len(p.errs.Errs)
	f := p.fields(n, "audience", audienceKeys...)
	if v, ok := f["everyone"]; ok {
		a.Everyone, _ = p.boolean(v.val, "everyone")
	}
	if v, ok := f["arrondissements"]; ok {
		for _, item := range p.list(v.val, "arrondissements", "[Rouen, Dieppe]") {
			name, ok := p.arrondissement(item)
			if !ok {
				continue
			}
			if slices.Contains(a.Arrondissements, name) {
				p.errorf(item, "arrondissement %s cité deux fois", quote(name))
				continue
			}
			a.Arrondissements = append(a.Arrondissements, name)
		}
	}
	if v, ok := f["communes"]; ok {
		for _, item := range p.list(v.val, "communes", `["76217", "76540"]`) {
			code := item.Value
			switch {
			case !p.knownCommune(code):
				p.errorf(item, "commune inconnue %s : indiquez son code INSEE (5 chiffres, par exemple 76217 pour Dieppe)", quote(code))
			case slices.Contains(a.Communes, code):
				p.errorf(item, "commune %s citée deux fois", quote(code))
			default:
				a.Communes = append(a.Communes, code)
			}
		}
	}
	if v, ok := f["roles"]; ok {
		for _, item := range p.list(v.val, "roles", "[maire, adjoint]") {
			role := item.Value
			switch {
			case !tocsin.ValidRole(role):
				p.errorf(item, "rôle inconnu %s ; rôles possibles : %s", quote(role), strings.Join(tocsin.Roles, ", "))
			case slices.Contains(a.Roles, role):
				p.errorf(item, "rôle %s cité deux fois", quote(role))
			default:
				a.Roles = append(a.Roles, role)
			}
		}
	}
	if v, ok := f["within"]; ok {
		a.Within = p.circle(v.val)
	}
	switch {
	case a.Everyone && (len(a.Arrondissements) > 0 || len(a.Communes) > 0 || a.Within != nil):
		p.errorf(key, "« everyone: true » sélectionne déjà tout l'annuaire : retirez arrondissements, communes et within, ou everyone")
	case a.Empty() && len(p.errs.Errs) == before:
		p.errorf(key, "audience vide : indiquez everyone: true, des arrondissements, des communes, des rôles ou un cercle (within)")
	}
}

func (p *parser) knownCommune(code string) bool {
	if len(code) != 5 {
		return false
	}
	if p.ref.Commune == nil {
		return true
	}
	return p.ref.Commune(code)
}

// arrondissement matches a name against the reference, ignoring case, and
// returns the reference's spelling.
func (p *parser) arrondissement(n *yaml.Node) (string, bool) {
	if len(p.ref.Arrondissements) == 0 {
		return n.Value, n.Value != ""
	}
	for _, a := range p.ref.Arrondissements {
		if strings.EqualFold(a, strings.TrimSpace(n.Value)) {
			return a, true
		}
	}
	p.errorf(n, "arrondissement inconnu %s ; arrondissements : %s", quote(n.Value), strings.Join(p.ref.Arrondissements, ", "))
	return "", false
}

func (p *parser) circle(n *yaml.Node) *tocsin.Circle {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "« within » est un cercle : {label: …, lat: …, lon: …, km: …}")
		return nil
	}
	f := p.fields(n, "within", circleKeys...)
	var c tocsin.Circle
	ok := true
	for _, k := range []string{"lat", "lon", "km"} {
		if _, found := f[k]; !found {
			p.errorf(n, "clé %s manquante dans within", quote(k))
			ok = false
		}
	}
	if v, found := f["label"]; found {
		c.Label, _ = p.text(v.val, "label")
	}
	if v, found := f["lat"]; found {
		lat, good := p.number(v.val, "lat")
		if good && (lat < -90 || lat > 90) {
			p.errorf(v.val, "latitude hors limites : entre -90 et 90 (Paluel : 49.858)")
			good = false
		}
		c.Lat, ok = lat, ok && good
	}
	if v, found := f["lon"]; found {
		lon, good := p.number(v.val, "lon")
		if good && (lon < -180 || lon > 180) {
			p.errorf(v.val, "longitude hors limites : entre -180 et 180 (Paluel : 0.635)")
			good = false
		}
		c.Lon, ok = lon, ok && good
	}
	if v, found := f["km"]; found {
		km, good := p.number(v.val, "km")
		if good && (km <= 0 || km > maxKm) {
			p.errorf(v.val, "rayon « km » hors limites : plus de 0 et %g au plus", maxKm)
			good = false
		}
		c.Km, ok = km, ok && good
	}
	if !ok {
		return nil
	}
	if p.ref.Near != nil && !p.ref.Near(c.Lat, c.Lon, c.Km) {
		msg := fmt.Sprintf("cercle vide : aucune commune à moins de %g km de lat %g, lon %g", c.Km, c.Lat, c.Lon)
		if p.ref.Near(c.Lon, c.Lat, c.Km) {
			msg += " ; latitude et longitude sont-elles inversées ?"
		}
		p.errorf(n, "%s", msg)
		return nil
	}
	return &c
}

func (p *parser) ladder(n *yaml.Node) ([]tocsin.Rung, bool) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "« ladder » est une liste d'échelons, chacun « - after: 0 » suivi de channel et targets")
		return nil, false
	}
	if len(n.Content) == 0 {
		p.errorf(n, "« ladder » vide : retirez la clé pour l'échelon par défaut (SMS aux mobiles à 0), ou donnez des échelons")
		return nil, false
	}
	if len(n.Content) > maxRungs {
		p.errorf(n, "trop d'échelons : %d au plus", maxRungs)
		return nil, false
	}
	var out []tocsin.Rung
	ok := true
	for i, item := range n.Content {
		r, good := p.rung(item)
		if !good {
			ok = false
			continue
		}
		switch {
		case i == 0 && r.After != 0:
			p.errorf(item, "le premier échelon part à l'activation : « after: 0 »")
			ok = false
		case len(out) > 0 && r.After < out[len(out)-1].After:
			p.errorf(item, "échelons dans le désordre : celui-ci (after %s) vient avant le précédent (after %s)", fmtDuration(r.After), fmtDuration(out[len(out)-1].After))
			ok = false
		}
		out = append(out, r)
	}
	return out, ok
}

func (p *parser) rung(n *yaml.Node) (tocsin.Rung, bool) {
	var r tocsin.Rung
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "un échelon s'écrit {after: 10m, channel: voice, targets: [mobile, landline]}")
		return r, false
	}
	before := len(p.errs.Errs)
	f := p.fields(n, "l'échelon", rungKeys...)
	manual := false
	if v, ok := f["channel"]; ok && v.val.Value == string(tocsin.Manual) {
		manual = true
	}
	required := []string{"after", "channel", "targets"}
	if manual {
		required = required[:2]
		for _, k := range []string{"targets", "retries", "retry_after"} {
			if v, ok := f[k]; ok {
				p.errorf(v.val, "un échelon « manual » (liste « à appeler ») n'envoie rien : retirez %s", quote(k))
			}
		}
	}
	for _, k := range required {
		if _, ok := f[k]; !ok {
			p.errorf(n, "clé %s manquante dans l'échelon", quote(k))
		}
	}
	if v, ok := f["after"]; ok {
		if d, ok := p.duration(v.val, "after"); ok {
			if d < 0 || d > maxDeadline {
				p.errorf(v.val, "« after » hors limites : entre 0 et 24h")
			}
			r.After = d
		}
	}
	if v, ok := f["channel"]; ok {
		if s, ok := p.text(v.val, "channel"); ok {
			if contains(channels, s) {
				r.Channel = tocsin.Channel(s)
			} else {
				p.errorf(v.val, "canal inconnu %s : sms, voice ou manual", quote(s))
			}
		}
	}
	if v, ok := f["targets"]; ok && !manual {
		items := p.list(v.val, "targets", "[mobile, landline]")
		if len(items) == 0 && v.val.Kind == yaml.SequenceNode {
			p.errorf(v.val, "« targets » vide : mobile, landline ou deputies")
		}
		for _, item := range items {
			t := tocsin.Target(item.Value)
			switch {
			case !contains(targets, item.Value):
				p.errorf(item, "cible inconnue %s : mobile, landline ou deputies", quote(item.Value))
			case slices.Contains(r.Targets, t):
				p.errorf(item, "cible %s citée deux fois", quote(item.Value))
			default:
				r.Targets = append(r.Targets, t)
			}
		}
		if r.Channel == tocsin.SMS && len(r.Targets) > 0 && !slices.Contains(r.Targets, tocsin.TargetMobile) && !slices.Contains(r.Targets, tocsin.TargetDeputies) {
			p.errorf(v.val, "un SMS ne peut pas joindre une ligne fixe : ajoutez « mobile » ou passez cet échelon en « channel: voice »")
		}
	}
	p.boundedInt(f, "retries", 0, maxRetries, &r.Retries,
		fmt.Sprintf("« retries » hors limites : entre 0 et %d (les opérateurs bloquent les envois répétés)", maxRetries))
	p.boundedDuration(f, "retry_after", minRetryAfter, maxRetryAfter, &r.RetryAfter,
		fmt.Sprintf("« retry_after » hors limites : entre %s et %s", fmtDuration(minRetryAfter), fmtDuration(maxRetryAfter)))
	return r, len(p.errs.Errs) == before
}

// boundedInt sets *dst to the integer under key in f, when there is one
// and it lies in [lo, hi]; out of them, outside is the error.
func (p *parser) boundedInt(f map[string]field, key string, lo, hi int, dst *int, outside string) {
	bounded(p, f, key, lo, hi, dst, outside, p.integer)
}

// boundedDuration is boundedInt for a duration (lo 1: more than 0).
func (p *parser) boundedDuration(f map[string]field, key string, lo, hi time.Duration, dst *time.Duration, outside string) {
	bounded(p, f, key, lo, hi, dst, outside, p.duration)
}

// bounded sets *dst to the value under key in f, read by read, when there
// is one and it lies in [lo, hi]; out of them, outside is the error.
func bounded[T cmp.Ordered](p *parser, f map[string]field, key string, lo, hi T, dst *T, outside string, read func(*yaml.Node, string) (T, bool)) {
	v, ok := f[key]
	if !ok {
		return
	}
	if x, ok := read(v.val, key); ok {
		if x < lo || x > hi {
			p.errorf(v.val, "%s", outside)
			return
		}
		*dst = x
	}
}

// text returns a scalar as written.
func (p *parser) text(n *yaml.Node, key string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		p.errorf(n, "« %s » attend un texte", key)
		return "", false
	}
	return n.Value, true
}

func (p *parser) boolean(n *yaml.Node, key string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		if b, err := strconv.ParseBool(n.Value); err == nil {
			return b, true
		}
	}
	p.errorf(n, "« %s » vaut true ou false", key)
	return false, false
}

func (p *parser) duration(n *yaml.Node, key string) (time.Duration, bool) {
	if n.Kind == yaml.ScalarNode {
		if n.Value == "0" {
			return 0, true
		}
		if d, err := time.ParseDuration(n.Value); err == nil {
			return d, true
		}
	}
	p.errorf(n, "durée « %s » invalide %s : écrivez par exemple 0, 10m, 1h ou 1h30m", key, quote(n.Value))
	return 0, false
}

func (p *parser) number(n *yaml.Node, key string) (float64, bool) {
	if n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!float" || n.ShortTag() == "!!int") {
		if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f, true
		}
	}
	p.errorf(n, "« %s » attend un nombre, avec un point décimal (49.858)", key)
	return 0, false
}

func (p *parser) integer(n *yaml.Node, key string) (int, bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		if i, err := strconv.Atoi(n.Value); err == nil {
			return i, true
		}
	}
	p.errorf(n, "« %s » attend un nombre entier", key)
	return 0, false
}

// list returns the scalar items of a sequence, reporting anything else.
func (p *parser) list(n *yaml.Node, key, example string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "« %s » est une liste, par exemple %s", key, example)
		return nil
	}
	var out []*yaml.Node
	for _, item := range n.Content {
		if item.Kind != yaml.ScalarNode || item.ShortTag() == "!!null" {
			p.errorf(item, "élément invalide dans « %s » : un mot ou un code par élément", key)
			continue
		}
		out = append(out, item)
	}
	return out
}

// fmtDuration writes d without the trailing zero units Go adds ("10m",
// not "10m0s").
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
