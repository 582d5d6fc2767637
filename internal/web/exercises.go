package web

import (
	"net/http"
	"time"

	"github.com/prefecture76/tocsin/internal/exercise"
	"github.com/prefecture76/tocsin/internal/tocsin"
)

// exerciseSchedule is the exercise calendar as the API gives it and the
// console shows it: one builder for both.
type exerciseSchedule struct {
	// Playbook is launched in exercise mode at each due time; "" when the
	// duty officer is told to launch the exercise.
	Playbook string              `json:"playbook,omitempty"`
	Next     []scheduledExercise `json:"next"`
	Past     []pastExercise      `json:"past"` // latest first
}

// scheduledExercise is one due time, in UTC and in Paris.
type scheduledExercise struct {
	Due      time.Time `json:"due"`       // UTC
	DueParis string    `json:"due_paris"` // 10/01/2026 à 10:00
}

// pastExercise is one recorded run of the schedule.
type pastExercise struct {
	scheduledExercise
	Status      string `json:"status"`       // claimed, launched, notified, missed, failed, not_held, unrecorded, fulfilled
	StatusLabel string `json:"status_label"` // in French
	Activation  string `json:"activation,omitempty"`
	Retex       bool   `json:"retex"`  // a RETEX was entered for its activation
	Missed      bool   `json:"missed"` // it did not happen
	// Awaiting is set while the run waits for the duty officer to launch
	// the exercise (no exercise launched since it fell due).
	Awaiting bool   `json:"awaiting_launch"`
	Error    string `json:"error,omitempty"`
	// Source is where a run imported from the history comes from.
	Source string `json:"source,omitempty"`
	Note   string `json:"note,omitempty"`
}

func newScheduledExercise(t time.Time) scheduledExercise {
	return scheduledExercise{Due: t.UTC(), DueParis: parisDate(t)}
}

// newExerciseSchedule builds the calendar from the schedule's next runs,
// the recorded ones and the RETEX entered, by activation id.
func newExerciseSchedule(cal ExerciseCalendar, retexes map[string]tocsin.Retex) exerciseSchedule {
	s := exerciseSchedule{Playbook: cal.Playbook, Next: []scheduledExercise{}, Past: []pastExercise{}}
	for _, t := range cal.Next {
		s.Next = append(s.Next, newScheduledExercise(t))
	}
	awaiting := map[time.Time]bool{}
	for _, run := range cal.Awaiting {
		awaiting[run.Due.UTC()] = true
	}
	for i := len(cal.Runs) - 1; i >= 0; i-- {
		run := cal.Runs[i]
		_, retex := retexes[run.Activation]
		p := pastExercise{scheduledExercise: newScheduledExercise(run.Due), Status: run.Status,
			StatusLabel: runStatusLabel(run.Status), Activation: run.Activation, Retex: retex && run.Activation != "",
			Missed: exercise.DidNotHappen(run), Awaiting: awaiting[run.Due.UTC()], Error: run.Error, Note: run.Note}
		if run.Imported != nil {
			p.Source = run.Imported.Source
		}
		s.Past = append(s.Past, p)
	}
	return s
}

// MissedDates lists the due dates, in Paris, of the runs that did not
// happen, latest first.
func (s exerciseSchedule) MissedDates() []string {
	var out []string
	for _, p := range s.Past {
		if p.Missed {
			out = append(out, p.DueParis)
		}
	}
	return out
}

// exerciseCalendar reads the calendar and the RETEX entered.
func (s *Server) exerciseCalendar(r *http.Request) (exerciseSchedule, error) {
	if s.cfg.Exercises == nil {
		return exerciseSchedule{}, tocsin.Errorf(tocsin.ENotFound, "calendrier des exercices non disponible")
	}
	cal, err := s.cfg.Exercises(r.Context())
	if err != nil {
		return exerciseSchedule{}, err
	}
	retexes, err := s.cfg.Retexes.Retexes(r.Context())
	if err != nil {
		return exerciseSchedule{}, err
	}
	return newExerciseSchedule(cal, retexes), nil
}

// listExercises answers GET /api/v1/exercises: the next scheduled
// exercises and the past runs of the schedule.
func (s *Server) listExercises(w http.ResponseWriter, r *http.Request) error {
	cal, err := s.exerciseCalendar(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cal)
	return nil
}
