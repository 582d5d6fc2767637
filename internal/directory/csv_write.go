package directory

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/prefecture76/tocsin/internal/tocsin"
)

// WriteCSV writes officials in the format ParseCSV reads, for a French
// spreadsheet: a UTF-8 byte order mark, ";" between cells, CRLF line ends,
// numbers written "06 12 34 56 78" so that no leading zero is lost, and
// the commune's name beside its code for the reader.
func WriteCSV(w io.Writer, officials []tocsin.Official) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return fmt.Errorf("write directory csv: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.Comma = ';'
	cw.UseCRLF = true
	if err := cw.Write(columnNames[:]); err != nil {
		return fmt.Errorf("write directory csv: %w", err)
	}
	for i := range officials {
		o := &officials[i]
		communeName := o.CommuneName
		if c, ok := CommuneByINSEE(o.Commune); ok {
			communeName = c.Name
		}
		rec := make([]string, len(columnNames))
		rec[colID] = o.ID
		rec[colName] = o.Name
		rec[colRole] = o.Role
		rec[colCommune] = o.Commune
		rec[colCommuneName] = communeName
		rec[colMobile] = joinNumbers(o.NumbersOf(tocsin.Mobile))
		rec[colLandline] = joinNumbers(o.NumbersOf(tocsin.Landline))
		rec[colDeputies] = strings.Join(o.Deputies, "|")
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write directory csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write directory csv: %w", err)
	}
	return nil
}

func joinNumbers(ns []tocsin.Number) string {
	parts := make([]string, len(ns))
	for i, n := range ns {
		parts[i] = FormatNumber(n.E164)
	}
	return strings.Join(parts, " | ")
}
