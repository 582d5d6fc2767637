package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/prefecture76/tocsin/internal/app"
)

func TestSecondTocsinOnTheSameDataDirIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustRunApp(t, app.Config{DataDir: dir})
	b, err := app.New(app.Config{DataDir: dir, Listen: "127.0.0.1:0", Simulator: true, PlaybooksDir: "../../playbooks"})
	if err != nil {
		t.Fatal(err)
	}
	err = b.Open(context.Background())
	if err == nil {
		b.Close()
		t.Fatal("second Tocsin on the same data dir started")
	}
	if !strings.Contains(err.Error(), "in use by another Tocsin") {
		t.Errorf("error %q does not say the data dir is in use", err)
	}
}
