package history

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// Errors collects a file's errors with the line, the field and the column
// each is about, to report them in file order. Every error has code
// tocsin.EUnprocessable.
type Errors struct {
	entries []lineError
	located int // entries before this one have their column
}

type lineError struct {
	line, col int // col 0: not known yet, or none
	field     string
	msg       string
}

// Add records an error about field of line ("" for the line as a whole).
// Its column is found when the line is done.
func (l *Errors) Add(line int, field, format string, args ...any) {
	l.entries = append(l.entries, lineError{line: line, field: field, msg: fmt.Sprintf(format, args...)})
}

// addAt records an error at a known column.
func (l *Errors) addAt(line, col int, field, format string, args ...any) {
	l.entries = append(l.entries, lineError{line: line, col: col, field: field, msg: fmt.Sprintf(format, args...)})
}

// Len returns how many errors were added.
func (l *Errors) Len() int { return len(l.entries) }

// locate gives the errors added since the last call the column of their
// field in data, the line they are about: where its value starts, or for
// a field missing from an official, where that official starts.
func (l *Errors) locate(data []byte) {
	if l.located == len(l.entries) {
		return
	}
	var pos map[string]int
	for i := l.located; i < len(l.entries); i++ {
		e := &l.entries[i]
		if e.col != 0 || e.field == "" {
			continue
		}
		if pos == nil {
			pos = positions(data)
		}
		// A field missing from the record itself has no column: the
		// line's start would say nothing.
		for f := e.field; f != ""; f = parent(f) {
			if off, ok := pos[f]; ok {
				e.col = utf8.RuneCount(data[:off]) + 1
				break
			}
		}
	}
	l.located = len(l.entries)
}

// parent returns the field that holds f: officials[2].how → officials[2]
// → officials → "".
func parent(f string) string {
	if i := strings.LastIndexAny(f, ".["); i >= 0 {
		return f[:i]
	}
	return ""
}

// Err returns the errors as a *tocsin.ListError sorted by line and column, at most
// maxErrors of them and a count of the rest; nil when there are none.
func (l *Errors) Err() error {
	if len(l.entries) == 0 {
		return nil
	}
	slices.SortStableFunc(l.entries, func(a, b lineError) int { return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.col, b.col)) })
	var list tocsin.ListError
	for i, e := range l.entries {
		if i == maxErrors {
			list.Errs = append(list.Errs, tocsin.Errorf(tocsin.EUnprocessable,
				"%d autres erreurs ne sont pas affichées : corrigez celles-ci puis importez de nouveau", len(l.entries)-maxErrors))
			break
		}
		list.Errs = append(list.Errs, tocsin.FieldErrorf(tocsin.EUnprocessable, Place(e.line, e.col, e.field), "%s", e.msg))
	}
	return &list
}

// Place names a line, its column (counted in characters from 1; 0 when
// none) and a field: "ligne 3, colonne 118, champ officials[2].informed_at".
// Officials are counted from 0, as in JSON.
func Place(line, col int, field string) string {
	s := fmt.Sprintf("ligne %d", line)
	if col > 0 {
		s += fmt.Sprintf(", colonne %d", col)
	}
	if field != "" {
		s += ", champ " + field
	}
	return s
}

// positions returns where the value of each field of a line starts, in
// bytes: "" for the line's object, "officials[1].informed_at" for a field
// of the second official. A line that is not JSON gives what was read
// before the fault.
func positions(data []byte) map[string]int {
	pos := map[string]int{}
	dec := json.NewDecoder(bytes.NewReader(data))
	var value func(path string) bool
	value = func(path string) bool {
		off := int(dec.InputOffset())
		for off < len(data) && strings.IndexByte(" \t\r\n:,", data[off]) >= 0 {
			off++
		}
		pos[path] = off
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return false
				}
				key, _ := k.(string)
				if path != "" {
					key = path + "." + key
				}
				if !value(key) {
					return false
				}
			}
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if !value(fmt.Sprintf("%s[%d]", path, i)) {
					return false
				}
			}
		default:
			return true
		}
		_, err = dec.Token() // the closing delimiter
		return err == nil
	}
	value("")
	return pos
}
