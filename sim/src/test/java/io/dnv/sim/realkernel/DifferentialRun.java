package io.dnv.sim.realkernel;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs differential cases on each kernel under test and reports every step whose answer is not
 * the one Linux is expected to give: "≠" where the kernels disagree, "✗" where they agree on
 * something else than expected (a rule both get wrong, or a case that states Linux wrongly).
 */
final class DifferentialRun {

    private DifferentialRun() {}

    /** Prints a report per case and the summary line; returns the rules of the cases with a difference. */
    static List<String> run(List<DifferentialCase> cases, Map<String, KernelUnderTest> kernels, PrintStream out) throws Exception {
        long t0 = System.nanoTime();
        List<String> differences = new ArrayList<>();
        for (DifferentialCase c : cases) {
            Map<String, List<Step.Outcome>> outcomes = new LinkedHashMap<>();
            for (Map.Entry<String, KernelUnderTest> k : kernels.entrySet()) {
                outcomes.put(k.getKey(), run(k.getValue(), c));
            }
            boolean same = true;
            StringBuilder report = new StringBuilder();
            for (int i = 0; i < c.steps().size(); i++) {
                Step step = c.steps().get(i);
                String expected = step.expect().value();
                boolean allExpected = true;
                boolean agree = true;
                String first = null;
                for (List<Step.Outcome> o : outcomes.values()) {
                    String got = o.get(i).compared();
                    allExpected &= got.equals(expected);
                    agree &= first == null || first.equals(got);
                    first = first == null ? got : first;
                }
                same &= allExpected;
                report.append(String.format("  %s %-60s %s%n", allExpected ? " " : agree ? "✗" : "≠", step.what(), oneLine(step.expect().shown())));
                for (Map.Entry<String, List<Step.Outcome>> o : outcomes.entrySet()) {
                    Step.Outcome got = o.getValue().get(i);
                    String name = o.getKey();
                    if (!allExpected || !got.detail().isEmpty()) {
                        report.append(String.format("      %-58s %s: %s%s%n", "", name, oneLine(got.compared()),
                                got.detail().isEmpty() ? "" : " (" + oneLine(got.detail().trim()) + ")"));
                    }
                }
            }
            out.printf("%s %s%n%s", same ? "SAME" : "DIFFERENT", c.rule(), report);
            if (!same) {
                differences.add(c.rule());
            }
        }
        out.printf("TIME differential suite %.1f s%n", (System.nanoTime() - t0) / 1e9);
        out.printf("differential: %d cases, %d differences%n", cases.size(), differences.size());
        return differences;
    }

    /** Cases whose rule contains {@code only} (-Ddnv.differential.only=... while chasing a difference). */
    static List<DifferentialCase> selected() {
        String only = System.getProperty("dnv.differential.only", "");
        return DifferentialCases.all().stream().filter(c -> c.rule().contains(only)).toList();
    }

    private static List<Step.Outcome> run(KernelUnderTest k, DifferentialCase c) throws Exception {
        k.reset();
        List<Step.Outcome> outcomes = new ArrayList<>();
        for (Step s : c.steps()) {
            outcomes.add(s.action().run(k));
        }
        return outcomes;
    }

    private static String oneLine(String s) {
        return s.replace("\n", " | ");
    }
}
