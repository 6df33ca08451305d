package artifact

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
	"unicode/utf8"

	"github.com/Masterminds/sprig/v3"
)

// Templates come from app repositories and run inside the Auger server, next to every
// other team's releases. These limits keep one bad (or hostile) template from eating the
// server's memory or CPU; legitimate templates stay orders of magnitude below them.
const (
	// maxTemplateOutput caps what one template execution may write.
	maxTemplateOutput = 1 << 20
	// maxFuncResult caps what one template function may return (bytes, estimated).
	maxFuncResult = 1 << 20
	// maxGenerated caps the bytes all template functions of one Resolve may produce.
	maxGenerated = 64 << 20
	// maxLoopIterations caps range iterations over all templates of one Resolve.
	maxLoopIterations = 100_000
	// maxNesting caps how deep lists and maps built by templates may nest; it also
	// stops a map that contains itself.
	maxNesting = 64
	// maxListArg bounds the numbers given to until, untilStep and seq.
	maxListArg = 1 << 53
	// renderTimeout is the wall-clock backstop for one Resolve.
	renderTimeout = 5 * time.Second
	// loopStepFunc is called at the start of every range iteration (see parseTemplate).
	loopStepFunc = "_auger_loop_step"
)

// removedFuncs are taken out of sprig's hermetic set: env and expandenv would read the
// server's environment (its secrets); the others are random, time-dependent or spend
// seconds of CPU per call, none of which belongs in release values.
var removedFuncs = []string{
	"env", "expandenv", "getHostByName",
	"randInt", "shuffle", "ago", "now", "date", "dateInZone", "date_in_zone", "htmlDate", "htmlDateInZone",
	"randAlpha", "randAlphaNum", "randAscii", "randNumeric", "randBytes", "uuidv4",
	"bcrypt", "htpasswd", "genPrivateKey", "derivePassword", "buildCustomCert",
	"genCA", "genCAWithKey", "genSelfSignedCert", "genSelfSignedCertWithKey",
	"genSignedCert", "genSignedCertWithKey", "encryptAES", "decryptAES",
}

// renderer holds the function map and the budgets of one Resolve: templates of one env
// config share them, so ten templates cannot each spend the whole budget.
type renderer struct {
	funcs      template.FuncMap
	deadline   time.Time
	iterations int
	generated  int64
}

func newRenderer() *renderer {
	r := &renderer{deadline: time.Now().Add(renderTimeout)}
	r.funcs = r.funcMap()
	return r
}

// funcMap is sprig's hermetic map without removedFuncs, plus sanitizeDNSName, with the
// functions whose output can grow out of proportion to their input replaced by bounded
// versions, and every function metered.
func (r *renderer) funcMap() template.FuncMap {
	fm := sprig.HermeticTxtFuncMap()
	for _, name := range removedFuncs {
		delete(fm, name)
	}
	fm["sanitizeDNSName"] = SanitizeDNSName

	fm["repeat"] = boundedRepeat
	fm["indent"] = func(spaces int, s string) (string, error) { return boundedIndent(spaces, s, "") }
	fm["nindent"] = func(spaces int, s string) (string, error) { return boundedIndent(spaces, s, "\n") }
	fm["replace"] = boundedReplace
	fm["until"] = func(count int) ([]int, error) {
		step := 1
		if count < 0 {
			step = -1
		}
		return boundedUntilStep(0, count, step)
	}
	fm["untilStep"] = boundedUntilStep
	fm["seq"] = boundedSeq
	fm["regexReplaceAll"] = func(re, s, repl string) (string, error) { return boundedRegexReplace(re, s, repl, false) }
	fm["mustRegexReplaceAll"] = fm["regexReplaceAll"]
	fm["regexReplaceAllLiteral"] = func(re, s, repl string) (string, error) { return boundedRegexReplace(re, s, repl, true) }
	fm["mustRegexReplaceAllLiteral"] = fm["regexReplaceAllLiteral"]
	// The text/template builtins that format are overridden so that they are metered too.
	fm["print"] = fmt.Sprint
	fm["println"] = fmt.Sprintln
	fm["printf"] = func(format string, args ...any) (string, error) {
		if n := printfEstimate(format, args); n > maxFuncResult {
			return "", fmt.Errorf("output would be about %d bytes, more than the %d allowed", n, maxFuncResult)
		}
		return fmt.Sprintf(format, args...), nil
	}
	fm["html"] = template.HTMLEscaper
	fm["js"] = template.JSEscaper
	fm["urlquery"] = template.URLQueryEscaper

	// Functions kept from sprig that need a check before they run.
	if orig, ok := fm["wrapWith"].(func(int, string, string) string); ok {
		fm["wrapWith"] = func(width int, sep, s string) (string, error) {
			lines := int64(len(s))/int64(max(width, 1)) + 1
			if err := checkSize(int64(len(s)) + lines*int64(len(sep))); err != nil {
				return "", err
			}
			return orig(width, sep, s), nil
		}
	} else {
		delete(fm, "wrapWith")
	}
	if orig, ok := fm["join"].(func(string, any) string); ok {
		fm["join"] = func(sep string, v any) (string, error) {
			size, _, err := valueSize(reflect.ValueOf(v), maxFuncResult)
			if err != nil {
				return "", err
			}
			if err := checkSize(size + int64(listLen(v))*int64(len(sep))); err != nil {
				return "", err
			}
			return orig(sep, v), nil
		}
	} else {
		delete(fm, "join")
	}
	for _, name := range []string{"split", "splitList", "splitn"} {
		fm[name] = guardSplit(fm[name])
	}
	// uniq and without compare every element with every other: charge the square.
	for _, name := range []string{"uniq", "mustUniq", "without", "mustWithout"} {
		fm[name] = r.chargeSquare(fm[name])
	}

	metered := make(template.FuncMap, len(fm)+1)
	for name, fn := range fm {
		if m := r.meter(name, fn); m != nil {
			metered[name] = m
		}
	}
	metered[loopStepFunc] = r.loopStep
	return metered
}

var errFuncResult = fmt.Errorf("result larger than %d bytes or nested deeper than %d", maxFuncResult, maxNesting)

func checkSize(n int64) error {
	if n > maxFuncResult {
		return fmt.Errorf("output would be %d bytes, more than the %d allowed", n, maxFuncResult)
	}
	return nil
}

// spend charges n bytes (or units of work) to the Resolve's budget and checks its deadline.
func (r *renderer) spend(n int64) error {
	r.generated += n
	if r.generated > maxGenerated {
		return fmt.Errorf("templates of this env config generated more than %d bytes", maxGenerated)
	}
	if time.Now().After(r.deadline) {
		return fmt.Errorf("templates of this env config ran longer than %s", renderTimeout)
	}
	return nil
}

// loopStep runs at the start of every range iteration.
func (r *renderer) loopStep() (string, error) {
	r.iterations++
	if r.iterations > maxLoopIterations {
		return "", fmt.Errorf("templates of this env config looped more than %d times", maxLoopIterations)
	}
	return "", r.spend(1)
}

var errorType = reflect.TypeFor[error]()

// meter wraps fn (any function text/template accepts) in a function of the same
// parameters that also returns an error, checks the budget before the call and the size
// of the result after it.
func (r *renderer) meter(name string, fn any) any {
	if fn == nil {
		return nil
	}
	fv := reflect.ValueOf(fn)
	ft := fv.Type()
	if ft.Kind() != reflect.Func || ft.NumOut() == 0 || ft.NumOut() > 2 || ft.NumOut() == 2 && ft.Out(1) != errorType {
		// text/template would reject it too; leave it out rather than fail every parse.
		return nil
	}
	ins := make([]reflect.Type, ft.NumIn())
	for i := range ins {
		ins[i] = ft.In(i)
	}
	outs := []reflect.Type{ft.Out(0), errorType}
	zero := reflect.Zero(ft.Out(0))
	noError := reflect.Zero(errorType)
	fail := func(err error) []reflect.Value {
		err = fmt.Errorf("%s: %w", name, err)
		return []reflect.Value{zero, reflect.ValueOf(&err).Elem()}
	}
	wrapper := reflect.MakeFunc(reflect.FuncOf(ins, outs, ft.IsVariadic()), func(args []reflect.Value) []reflect.Value {
		if err := r.spend(1); err != nil {
			return fail(err)
		}
		var res []reflect.Value
		if ft.IsVariadic() {
			res = fv.CallSlice(args)
		} else {
			res = fv.Call(args)
		}
		if len(res) == 2 && !res[1].IsNil() {
			return res
		}
		size, _, err := valueSize(res[0], maxFuncResult)
		if err != nil {
			return fail(err)
		}
		if err := r.spend(size); err != nil {
			return fail(err)
		}
		return []reflect.Value{res[0], noError}
	})
	return wrapper.Interface()
}

// valueSize estimates the memory a template value holds (string bytes plus a word per
// element), stopping as soon as it passes limit or nests deeper than maxNesting, so its
// own cost is bounded. It also counts the values it saw.
func valueSize(v reflect.Value, limit int64) (size, count int64, err error) {
	var walk func(v reflect.Value, depth int) bool
	walk = func(v reflect.Value, depth int) bool {
		if depth > maxNesting || size > limit {
			return false
		}
		size += 8
		count++
		switch v.Kind() {
		case reflect.Interface, reflect.Pointer:
			if !v.IsNil() {
				return walk(v.Elem(), depth+1)
			}
		case reflect.String:
			size += int64(v.Len())
		case reflect.Slice, reflect.Array:
			if v.Type().Elem().Kind() == reflect.Uint8 {
				size += int64(v.Len())
				break
			}
			for i := range v.Len() {
				if !walk(v.Index(i), depth+1) {
					return false
				}
			}
		case reflect.Map:
			for it := v.MapRange(); it.Next(); {
				if !walk(it.Key(), depth+1) || !walk(it.Value(), depth+1) {
					return false
				}
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if !walk(v.Field(i), depth+1) {
					return false
				}
			}
		}
		return size <= limit
	}
	if !walk(v, 0) {
		return size, count, errFuncResult
	}
	return size, count, nil
}

func listLen(v any) int {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		return rv.Len()
	}
	return 1
}

// guardSplit checks the number of pieces before sprig's split functions allocate them.
func guardSplit(fn any) any {
	count := func(sep, s string) int64 {
		if sep == "" {
			return int64(utf8.RuneCountInString(s)) + 1
		}
		return int64(strings.Count(s, sep)) + 1
	}
	tooMany := func(n int64) error {
		// A piece costs a string header and, for split, a map entry with its key.
		return checkSize(n * 48)
	}
	switch orig := fn.(type) {
	case func(string, string) map[string]string:
		return func(sep, s string) (map[string]string, error) {
			if err := tooMany(count(sep, s)); err != nil {
				return nil, err
			}
			return orig(sep, s), nil
		}
	case func(string, string) []string:
		return func(sep, s string) ([]string, error) {
			if err := tooMany(count(sep, s)); err != nil {
				return nil, err
			}
			return orig(sep, s), nil
		}
	case func(string, int, string) map[string]string:
		return func(sep string, n int, s string) (map[string]string, error) {
			if err := tooMany(count(sep, s)); err != nil {
				return nil, err
			}
			return orig(sep, n, s), nil
		}
	}
	// A signature this code does not know: better without the function than unbounded.
	return nil
}

// chargeSquare charges len(list) squared before a quadratic list function runs.
func (r *renderer) chargeSquare(fn any) any {
	charge := func(list any) error {
		n := int64(listLen(list))
		return r.spend(n * n)
	}
	switch orig := fn.(type) {
	case func(any) []any:
		return func(list any) ([]any, error) {
			if err := charge(list); err != nil {
				return nil, err
			}
			return orig(list), nil
		}
	case func(any) ([]any, error):
		return func(list any) ([]any, error) {
			if err := charge(list); err != nil {
				return nil, err
			}
			return orig(list)
		}
	case func(any, ...any) []any:
		return func(list any, omit ...any) ([]any, error) {
			if err := r.spend(int64(listLen(list)) * int64(len(omit))); err != nil {
				return nil, err
			}
			return orig(list, omit...), nil
		}
	case func(any, ...any) ([]any, error):
		return func(list any, omit ...any) ([]any, error) {
			if err := r.spend(int64(listLen(list)) * int64(len(omit))); err != nil {
				return nil, err
			}
			return orig(list, omit...)
		}
	}
	return nil
}

func boundedRepeat(count int, s string) (string, error) {
	if count < 0 {
		return "", fmt.Errorf("negative count %d", count)
	}
	if len(s) > 0 && count > maxFuncResult/len(s) {
		return "", fmt.Errorf("output would be more than the %d bytes allowed", maxFuncResult)
	}
	return strings.Repeat(s, count), nil
}

func boundedIndent(spaces int, s, prefix string) (string, error) {
	if spaces < 0 {
		return "", fmt.Errorf("negative indent %d", spaces)
	}
	lines := int64(strings.Count(s, "\n")) + 1
	if err := checkSize(int64(len(s)) + lines*int64(spaces)); err != nil {
		return "", err
	}
	pad := strings.Repeat(" ", spaces)
	return prefix + pad + strings.ReplaceAll(s, "\n", "\n"+pad), nil
}

func boundedReplace(old, new, src string) (string, error) {
	n := int64(strings.Count(src, old))
	if err := checkSize(int64(len(src)) + n*int64(len(new)-len(old))); err != nil {
		return "", err
	}
	return strings.ReplaceAll(src, old, new), nil
}

// boundedUntilStep is sprig's untilStep (start, start+step, ... up to but excluding
// stop) with its arguments and length bounded.
func boundedUntilStep(start, stop, step int) ([]int, error) {
	for _, n := range []int{start, stop, step} {
		if n > maxListArg || n < -maxListArg {
			return nil, fmt.Errorf("%d is out of range", n)
		}
	}
	var count int
	switch {
	case step > 0 && start < stop:
		count = (stop-start-1)/step + 1
	case step < 0 && start > stop:
		count = (start-stop-1)/(-step) + 1
	default:
		return []int{}, nil
	}
	// An int takes a word in the list and in the interface that holds it.
	if err := checkSize(int64(count) * 16); err != nil {
		return nil, err
	}
	out := make([]int, count)
	for i := range out {
		out[i] = start + i*step
	}
	return out, nil
}

// boundedSeq is sprig's seq (like the Unix command: seq end, seq start end,
// seq start step end) with bounded length.
func boundedSeq(params ...int) (string, error) {
	var start, step, end int
	switch len(params) {
	case 1:
		start, step, end = 1, 1, params[0]
		if end < start {
			step = -1
		}
	case 2:
		start, step, end = params[0], 1, params[1]
		if end < start {
			step = -1
		}
	case 3:
		start, step, end = params[0], params[1], params[2]
		if end < start && step > 0 {
			return "", nil
		}
	default:
		return "", nil
	}
	if end > maxListArg || end < -maxListArg {
		return "", fmt.Errorf("%d is out of range", end)
	}
	through := end + 1
	if end < start {
		through = end - 1
	}
	nums, err := boundedUntilStep(start, through, step)
	if err != nil {
		return "", err
	}
	parts := make([]string, len(nums))
	for i, n := range nums {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, " "), nil
}

// boundedRegexReplace is sprig's regexReplaceAll(Literal), checked before it runs: an
// expression that matches everywhere times a long replacement (or many $1 references)
// would otherwise build gigabytes.
func boundedRegexReplace(expr, s, repl string, literal bool) (string, error) {
	re, err := regexp.Compile(expr)
	if err != nil {
		return "", err
	}
	refs := int64(0)
	if !literal {
		refs = int64(strings.Count(repl, "$"))
	}
	size := int64(len(s))
	for _, m := range re.FindAllStringIndex(s, -1) {
		// A submatch lies inside its match, so each reference adds at most the match.
		size += int64(len(repl)) + refs*int64(m[1]-m[0])
		if size > maxFuncResult {
			return "", fmt.Errorf("output would be more than the %d bytes allowed", maxFuncResult)
		}
	}
	if literal {
		return re.ReplaceAllLiteralString(s, repl), nil
	}
	return re.ReplaceAllString(s, repl), nil
}

// printfEstimate bounds the output of fmt.Sprintf: the format, the arguments, and every
// width or precision once per formatted value (fmt pads each element of a list).
func printfEstimate(format string, args []any) int64 {
	var argSize, argCount int64
	for _, a := range args {
		size, count, err := valueSize(reflect.ValueOf(a), maxFuncResult)
		if err != nil {
			return maxFuncResult + 1
		}
		argSize += size
		argCount += count
	}
	var widths int64
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		for i++; i < len(format); i++ {
			c := format[i]
			if c == '*' {
				widths += 1_000_000 // fmt's own cap on a width
				continue
			}
			if c >= '0' && c <= '9' {
				n := int64(0)
				for ; i < len(format) && format[i] >= '0' && format[i] <= '9'; i++ {
					n = min(n*10+int64(format[i]-'0'), 1_000_000)
				}
				widths += n
				i--
				continue
			}
			if strings.IndexByte("+-# .[]", c) < 0 {
				break // the verb
			}
		}
	}
	return int64(len(format)) + argSize + widths*(argCount+1)
}

// parseTemplate parses one template string with the func map. It refuses {{define}},
// {{template}} and {{block}} (recursion would escape the loop budget, and values have
// no use for them) and instruments every {{range}} so its iterations are counted.
func parseTemplate(name, text string, funcs template.FuncMap) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(funcs).Parse(text)
	if err != nil {
		return nil, err
	}
	if len(t.Templates()) > 1 {
		return nil, errors.New("template: {{define}} and {{block}} are not supported here")
	}
	if t.Tree == nil || t.Tree.Root == nil {
		return t, nil
	}
	if err := instrument(t.Tree.Root); err != nil {
		return nil, err
	}
	return t, nil
}

func instrument(list *parse.ListNode) error {
	if list == nil {
		return nil
	}
	for _, n := range list.Nodes {
		var branch *parse.BranchNode
		switch n := n.(type) {
		case *parse.TemplateNode:
			return errors.New("template: {{template}} is not supported here")
		case *parse.IfNode:
			branch = &n.BranchNode
		case *parse.WithNode:
			branch = &n.BranchNode
		case *parse.RangeNode:
			branch = &n.BranchNode
			if n.List != nil {
				n.List.Nodes = append([]parse.Node{loopStepNode(n.Position(), n.Line)}, n.List.Nodes...)
			}
		}
		if branch != nil {
			if err := instrument(branch.List); err != nil {
				return err
			}
			if err := instrument(branch.ElseList); err != nil {
				return err
			}
		}
	}
	return nil
}

// loopStepNode is {{_auger_loop_step}}, which prints nothing.
func loopStepNode(pos parse.Pos, line int) *parse.ActionNode {
	ident := parse.NewIdentifier(loopStepFunc).SetPos(pos)
	cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{ident}}
	pipe := &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos, Line: line, Cmds: []*parse.CommandNode{cmd}}
	return &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos, Line: line, Pipe: pipe}
}

// limitedBuffer collects template output and fails the execution once it passes limit.
type limitedBuffer struct {
	buf   strings.Builder
	limit int
}

func (w *limitedBuffer) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.limit {
		return 0, fmt.Errorf("template output is larger than %d bytes", w.limit)
	}
	return w.buf.Write(p)
}
