package connectorkind

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// ValidateName reports why name can never be used as a connector name in
// Connect's REST API, or nil when it can.
//
// Connect trims a new connector's name and refuses an empty one or one
// with ISO control characters (ConnectorConfig's name validator), and
// refuses '/' because the name is one path segment of
// /connectors/{name}. "." and ".." are dot segments: an HTTP client or a
// normalising proxy resolves /connectors/../pause to /pause, so an action
// on them would reach another URL than the connector's.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("connector name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("connector name %q is a URL dot segment: /connectors/%s/... would address another resource", name, name)
	case strings.Contains(name, "/"):
		return fmt.Errorf("connector name %q contains '/': Kafka Connect refuses it, as it cannot be one segment of /connectors/{name}", name)
	case !utf8.ValidString(name):
		return fmt.Errorf("connector name %q is not valid UTF-8", name)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("connector name %q has leading or trailing white space: Kafka Connect trims names, so no connector has it", name)
	}
	for _, r := range name {
		if isISOControl(r) {
			return fmt.Errorf("connector name %q contains the control character %U: Kafka Connect refuses it", name, r)
		}
	}
	return nil
}

// isISOControl is Java's Character.isISOControl, which Connect's name
// validator uses: U+0000–U+001F and U+007F–U+009F.
func isISOControl(r rune) bool {
	return r <= 0x1f || (r >= 0x7f && r <= 0x9f)
}
