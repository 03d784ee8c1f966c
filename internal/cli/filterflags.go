package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/sigtrace/sigtrace/filters"
)

// FilterOptions are the --filter and --preset flags of a command. Wire them with addFilterFlags
// when building the command and Compile in its RunE:
//
//	addFilterFlags(cmd, f, &opts.Filter)
//	...
//	flt, err := opts.Filter.Compile() // nil when neither flag was given: matches everything
//	if !flt.MatchMessage(m) { return }          // per message
//	if !flt.MatchCall(call, msgs...) { ... }    // per call (any message, or the call fields)
type FilterOptions struct {
	Expr    string
	Presets []string

	getenv func(string) string
	lib    *filters.Library
}

// addFilterFlags adds --filter and --preset to cmd.
func addFilterFlags(cmd *cobra.Command, f *Factory, o *FilterOptions) {
	o.getenv = f.Getenv
	cmd.Flags().StringVar(&o.Expr, "filter", "", `keep what matches a display filter, e.g. 'sip.status >= 500 or diameter.result_code >= 3000' (sigtrace filter --list-fields)`)
	cmd.Flags().StringArrayVar(&o.Presets, "preset", nil, "keep what matches a named filter (repeatable; all must match; sigtrace filter --list-presets)")
	_ = cmd.RegisterFlagCompletionFunc("preset", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		lib, err := o.library()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var names []string
		for _, p := range lib.Presets() {
			names = append(names, p.Name+"\t"+p.Description)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("filter", cobra.NoFileCompletions)
}

// library loads the built-in presets and the user's presets file, once.
func (o *FilterOptions) library() (*filters.Library, error) {
	if o.lib != nil {
		return o.lib, nil
	}
	getenv := o.getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	lib, err := filters.LoadLibrary(getenv)
	if err != nil {
		return nil, err
	}
	o.lib = lib
	return lib, nil
}

// Given reports whether --filter or --preset was used.
func (o *FilterOptions) Given() bool { return o.Expr != "" || len(o.Presets) > 0 }

// Compile compiles the flags into one filter: every preset and the expression must match. It
// returns nil (which matches everything) when neither flag was given. A bad expression or an
// unknown preset is a usage error whose message shows the expression with a caret.
func (o *FilterOptions) Compile() (*filters.Filter, error) {
	if !o.Given() {
		return nil, nil
	}
	lib, err := o.library()
	if err != nil {
		return nil, err
	}
	var parts []*filters.Filter
	for _, name := range o.Presets {
		flt, err := lib.CompilePreset(name)
		if err != nil {
			return nil, &UsageError{Err: err}
		}
		parts = append(parts, flt)
	}
	if o.Expr != "" {
		flt, err := lib.Compile(o.Expr)
		if err != nil {
			var fe *filters.Error
			if errors.As(err, &fe) {
				return nil, &UsageError{Err: err}
			}
			return nil, err
		}
		parts = append(parts, flt)
	}
	return filters.And(parts...), nil
}

// Scope is the widest scope the chosen presets ask for (filters.ScopeMessage when none does).
func (o *FilterOptions) Scope() string {
	scope := filters.ScopeMessage
	lib, err := o.library()
	if err != nil {
		return scope
	}
	for _, name := range o.Presets {
		p, _ := lib.Lookup(name)
		switch {
		case p.Scope == filters.ScopeDialog:
			scope = filters.ScopeDialog
		case p.Scope == filters.ScopeTransaction && scope == filters.ScopeMessage:
			scope = filters.ScopeTransaction
		}
	}
	return scope
}
