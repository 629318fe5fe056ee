package io.dnv.sim.realkernel;

import java.util.ArrayList;
import java.util.List;

/**
 * The table of differential cases in docs/kernel-rules.md, printed from the cases themselves:
 * each rule with what Linux answers at its steps (every step not listed answers "ok").
 */
final class DifferentialTable {

    static final String BEGIN = "<!-- differential cases: generated from DifferentialCases by DifferentialTableTest; do not edit -->";
    static final String END = "<!-- end of differential cases -->";

    private DifferentialTable() {}

    static String markdown(List<DifferentialCase> cases) {
        StringBuilder out = new StringBuilder(BEGIN).append("\n\n");
        out.append(cases.size()).append(" cases. Each runs from a fresh kernel (two kernels where marked ⇄: the steps marked")
                .append(" \"peer:\" run on a second machine). Listed are the steps whose answer is not a plain \"ok\".\n\n");
        out.append("| # | case | steps | what Linux answers |\n| --- | --- | --- | --- |\n");
        int n = 0;
        for (DifferentialCase c : cases) {
            List<String> answers = new ArrayList<>();
            for (Step s : c.steps()) {
                String shown = s.expect().shown();
                if (!shown.equals("ok") && !shown.equals("started") && !shown.equals("paused")) {
                    answers.add(cell(s.what()) + ": " + (shown.contains(" ") || shown.contains("\n") ? "`" + cell(shown) + "`" : cell(shown)));
                }
            }
            out.append("| ").append(++n).append(" | ").append(c.twoKernels() ? "⇄ " : "").append(cell(c.rule())).append(" | ")
                    .append(c.steps().size()).append(" | ").append(String.join("; ", answers)).append(" |\n");
        }
        return out.append('\n').append(END).toString();
    }

    private static String cell(String s) {
        return s.replace("|", "\\|").replace("\n", " ⏎ ");
    }
}
