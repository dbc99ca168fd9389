package io.flashvisor.node.metrics;

import java.util.HashSet;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Writes the Prometheus text exposition format, version 0.0.4: each metric family once, as
 * {@code # HELP}, {@code # TYPE} and then all its samples ({@code name{label="value",...} value}),
 * with help text and label values escaped as the format requires. Names are checked, so a typo
 * fails loudly in the tests instead of producing an exposition Prometheus rejects. Not thread-safe.
 */
public final class PrometheusText {
    /** The HTTP {@code Content-Type} of this format. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Set<String> TYPES = Set.of("counter", "gauge", "summary", "histogram", "untyped");

    private final StringBuilder out = new StringBuilder();
    private final Set<String> families = new HashSet<>();
    private String family;

    /** Starts a family: every sample until the next family belongs to it. */
    public PrometheusText family(String name, String type, String help) {
        if (!METRIC_NAME.matcher(name).matches() || !TYPES.contains(type)) {
            throw new IllegalArgumentException("not a metric name and type: " + name + " " + type);
        }
        if (!families.add(name)) {
            throw new IllegalStateException("metric family " + name + " written twice: its samples must be one group");
        }
        family = name;
        out.append("# HELP ").append(name).append(' ').append(escapeHelp(help)).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
        return this;
    }

    /** A sample of the current family, named as the family. {@code labels}: name, value, name, value, ... */
    public PrometheusText sample(double value, String... labels) {
        return sample("", value, labels);
    }

    /** A sample named family + {@code suffix} (a summary's {@code _sum}, {@code _count}). */
    public PrometheusText sample(String suffix, double value, String... labels) {
        if (family == null) {
            throw new IllegalStateException("a sample before any family");
        }
        if (labels.length % 2 != 0) {
            throw new IllegalArgumentException("labels come in name, value pairs");
        }
        out.append(family).append(suffix);
        if (labels.length > 0) {
            out.append('{');
            for (int i = 0; i < labels.length; i += 2) {
                if (!LABEL_NAME.matcher(labels[i]).matches() || labels[i].startsWith("__")) {
                    throw new IllegalArgumentException("not a label name: " + labels[i]);
                }
                out.append(i == 0 ? "" : ",").append(labels[i]).append("=\"").append(escapeLabel(labels[i + 1])).append('"');
            }
            out.append('}');
        }
        out.append(' ').append(format(value)).append('\n');
        return this;
    }

    public String text() {
        return out.toString();
    }

    /** A label value: backslash, double quote and line feed escaped. */
    static String escapeLabel(String value) {
        return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    /** Help text: backslash and line feed escaped. */
    static String escapeHelp(String help) {
        return help.replace("\\", "\\\\").replace("\n", "\\n");
    }

    /** Integers without a fraction; {@code NaN}, {@code +Inf}, {@code -Inf} as the format spells them. */
    static String format(double v) {
        if (Double.isNaN(v)) {
            return "NaN";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "+Inf" : "-Inf";
        }
        if (v == Math.rint(v) && Math.abs(v) < 1e15) {
            return Long.toString((long) v);
        }
        return Double.toString(v);
    }
}
