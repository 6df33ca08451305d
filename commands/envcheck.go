package commands

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/auger-dev/auger/artifact"
	"github.com/auger-dev/auger/manifests"
)

// checkRendering renders each env config of an artifact as a release would, before the
// artifact is recorded, and turns what its author must fix into problems on the env
// config lines at fault: values that break the chart's values.schema.json (on the line
// that set the value, or the closest parent that is set: the values: line when it is
// missing) and patches that do not apply (on the patch's line). Anything else (a chart
// that cannot be fetched or is not allowed here, a template error) is left to release
// time, where it is told to whoever releases: a repository that does not answer now
// must not fail an artifact for good.
func checkRendering(ctx context.Context, renderer Renderer, a *artifact.Artifact) []artifact.Problem {
	if renderer == nil {
		return nil
	}
	var problems []artifact.Problem
	for _, ec := range a.Environments {
		resolved, err := a.Resolve(ec)
		if err != nil {
			continue // already a problem
		}
		_, err = renderer.Render(ctx, resolved, manifests.Release{ArtifactID: a.ID, Repository: a.Version.RepositoryName, SHA: a.Version.SHA})
		file := ec.File
		var se *manifests.SchemaError
		var pe *manifests.PatchError
		switch {
		case err == nil:
		case errors.As(err, &se):
			for _, v := range se.Violations {
				path := append([]any{"values"}, valuesPath(v.Path)...)
				problems = append(problems, artifact.Problem{File: file, Line: ec.Line(path...), Path: strings.Join(append([]string{"values"}, v.Path...), "."), Message: v.Message})
			}
		case errors.As(err, &pe):
			line := ec.Line(pe.Path...)
			if pe.Line > 0 {
				line = ec.TextLine(pe.Line, pe.Path...)
			}
			problems = append(problems, artifact.Problem{File: file, Line: line, Path: pe.Field(), Message: pe.Err.Error()})
		default:
			zerolog.Ctx(ctx).Debug().Err(err).Str("app", resolved.App).Str("env", resolved.Env).Msg("env config not checked by rendering; left to release time")
		}
	}
	return problems
}

// valuesPath turns a schema's instance location into a path in the env config: list
// indices become numbers.
func valuesPath(keys []string) []any {
	path := make([]any, len(keys))
	for i, k := range keys {
		if n, err := strconv.Atoi(k); err == nil && n >= 0 {
			path[i] = n
		} else {
			path[i] = k
		}
	}
	return path
}
