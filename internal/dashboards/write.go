package dashboards

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write renders every dashboard into dir.
func Write(dir string) error {
	for name, d := range All() {
		b, err := d.JSON()
		if err != nil {
			return fmt.Errorf("dashboard %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return fmt.Errorf("writing dashboard %s: %w", name, err)
		}
	}
	return nil
}
