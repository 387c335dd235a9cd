package config

// Secret is a string that never prints: not in logs, errors, or a config
// written back out.
type Secret string

const redacted = "<secret>"

// String hides the value from fmt and loggers.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// MarshalYAML hides the value when a config is written back out.
func (s Secret) MarshalYAML() (any, error) {
	if s == "" {
		return "", nil
	}
	return redacted, nil
}

// Reveal returns the secret itself, for the one place that needs it.
func (s Secret) Reveal() string { return string(s) }
