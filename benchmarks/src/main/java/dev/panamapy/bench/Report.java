package dev.panamapy.bench;

import dev.panamapy.CPython;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;

/** Writes a benchmark run as results.json, results.md and a PNG plot of the hand-off curves. */
final class Report {
    private Report() { }

    static void write(Path out, CPython py, List<Bench.Figure> figures, List<double[]> curve, boolean quick,
                      double seconds) throws IOException {
        String machine = Runtime.getRuntime().availableProcessors() + " cores, " + Runtime.version() + ", CPython "
                + py.version() + ", " + System.getProperty("os.name") + " " + System.getProperty("os.arch");
        Files.writeString(out.resolve("results.json"), json(figures, curve, machine, quick, seconds));
        Files.writeString(out.resolve("results.md"), markdown(figures, curve, machine, quick));
        plot(curve, out.resolve("zero-copy-vs-copy.png"));
    }

    private static String json(List<Bench.Figure> figures, List<double[]> curve, String machine, boolean quick,
                               double seconds) {
        StringBuilder b = new StringBuilder("{\n");
        b.append("  \"machine\": ").append(q(machine)).append(",\n");
        b.append("  \"when\": ").append(q(Instant.now().toString())).append(",\n");
        b.append("  \"quick\": ").append(quick).append(",\n");
        b.append("  \"seconds\": ").append(num(seconds)).append(",\n");
        b.append("  \"figures\": [\n");
        for (int i = 0; i < figures.size(); i++) {
            Bench.Figure f = figures.get(i);
            b.append("    {\"id\": ").append(q(f.id())).append(", \"title\": ").append(q(f.title()))
                    .append(", \"unit\": ").append(q(f.unit()))
                    .append(", \"ours\": ").append(stat(f.ours(), f.oursLabel()))
                    .append(", \"baseline\": ").append(stat(f.base(), f.baseLabel()))
                    .append(", \"ratio\": ").append(num(f.ratio()))
                    .append(", \"ratio_meaning\": ").append(q(f.ratioMeaning()))
                    .append(", \"goal\": ").append(q(f.goal()))
                    .append(", \"met\": ").append(f.met() == null ? "null" : f.met().toString())
                    .append("}").append(i + 1 < figures.size() ? ",\n" : "\n");
        }
        b.append("  ],\n  \"handoff_curve\": [\n");
        for (int i = 0; i < curve.size(); i++) {
            double[] c = curve.get(i);
            b.append("    {\"bytes\": ").append((long) c[0]).append(", \"export_ns\": ").append(num(c[1]))
                    .append(", \"copy_ns\": ").append(num(c[2])).append("}").append(i + 1 < curve.size() ? ",\n" : "\n");
        }
        return b.append("  ]\n}\n").toString();
    }

    private static String stat(Bench.Stat s, String label) {
        return "{\"label\": " + q(label) + ", \"median\": " + num(s.median()) + ", \"min\": " + num(s.min())
                + ", \"max\": " + num(s.max()) + ", \"runs\": " + s.runs() + "}";
    }

    private static String markdown(List<Bench.Figure> figures, List<double[]> curve, String machine, boolean quick) {
        StringBuilder b = new StringBuilder();
        b.append("Measured on ").append(machine).append(quick ? " (quick run: small sizes, few repetitions)" : "")
                .append(". Each figure is the median of the stated runs (min-max in brackets); each ratio is against a "
                        + "baseline measured in the same run.\n\n");
        b.append("| figure | ours | baseline | ratio | goal |\n|---|---|---|---|---|\n");
        for (Bench.Figure f : figures) {
            b.append("| ").append(f.title()).append(" | ").append(f.oursLabel()).append(": ").append(f.ours().show(f.unit()))
                    .append(" | ").append(f.baseLabel()).append(": ").append(f.base().show(f.unit()))
                    .append(" | **").append(Bench.fmt(f.ratio())).append("** ").append(f.ratioMeaning())
                    .append(" | ").append(f.goal()).append(f.met() == null ? "" : f.met() ? " met" : " **missed**")
                    .append(" |\n");
        }
        b.append("\n| bytes | export + np.frombuffer | copy (byte[] -> bytes -> np.frombuffer) | speed-up |\n|---|---|---|---|\n");
        for (double[] c : curve) {
            b.append("| ").append(Bench.human((long) c[0])).append(" | ").append(time(c[1])).append(" | ")
                    .append(time(c[2])).append(" | ").append(Bench.fmt(c[2] / c[1])).append("x |\n");
        }
        return b.toString();
    }

    private static String time(double ns) {
        if (ns >= 1e9) return String.format(Locale.ROOT, "%.2f s", ns / 1e9);
        if (ns >= 1e6) return String.format(Locale.ROOT, "%.1f ms", ns / 1e6);
        if (ns >= 1e3) return String.format(Locale.ROOT, "%.1f µs", ns / 1e3);
        return String.format(Locale.ROOT, "%.0f ns", ns);
    }

    /** A log-log plot of hand-off time against size, export and copy. Drawn with Java2D (headless). */
    private static void plot(List<double[]> curve, Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        int w = 900, h = 560, left = 90, right = 30, top = 50, bottom = 70;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        if (curve.isEmpty()) { ImageIO.write(img, "png", file.toFile()); return; }
        double xMin = Math.log10(curve.getFirst()[0]), xMax = Math.log10(curve.getLast()[0]);
        double yMin = Double.MAX_VALUE, yMax = -Double.MAX_VALUE;
        for (double[] c : curve) for (int k = 1; k <= 2; k++) {
            yMin = Math.min(yMin, Math.log10(c[k]));
            yMax = Math.max(yMax, Math.log10(c[k]));
        }
        yMin = Math.floor(yMin);
        yMax = Math.ceil(yMax);
        int pw = w - left - right, ph = h - top - bottom;
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        g.setColor(new Color(230, 230, 230));
        for (double y = yMin; y <= yMax; y++) {
            int py = top + (int) ((yMax - y) / (yMax - yMin) * ph);
            g.drawLine(left, py, left + pw, py);
        }
        g.setColor(Color.DARK_GRAY);
        g.drawRect(left, top, pw, ph);
        for (double y = yMin; y <= yMax; y++) {
            int py = top + (int) ((yMax - y) / (yMax - yMin) * ph);
            g.drawString(time(Math.pow(10, y)), 8, py + 5);
        }
        for (double[] c : curve) {
            int px = left + (int) ((Math.log10(c[0]) - xMin) / (xMax - xMin) * pw);
            g.drawLine(px, top + ph, px, top + ph + 5);
            g.drawString(Bench.human((long) c[0]), px - 20, top + ph + 22);
        }
        g.drawString("bytes handed from Java to numpy", left + pw / 2 - 100, h - 20);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        g.drawString("Java -> numpy hand-off: zero-copy export vs copy (median time, log-log)", left, 30);
        Color[] colors = {new Color(0, 110, 200), new Color(220, 80, 30)};
        String[] names = {"export (JavaBuffer + np.frombuffer)", "copy (byte[] -> bytes -> np.frombuffer)"};
        g.setStroke(new BasicStroke(2.5f));
        for (int k = 1; k <= 2; k++) {
            g.setColor(colors[k - 1]);
            int prevX = -1, prevY = -1;
            for (double[] c : curve) {
                int px = left + (int) ((Math.log10(c[0]) - xMin) / (xMax - xMin) * pw);
                int py = top + (int) ((yMax - Math.log10(c[k])) / (yMax - yMin) * ph);
                g.fillOval(px - 4, py - 4, 8, 8);
                if (prevX >= 0) g.drawLine(prevX, prevY, px, py);
                prevX = px;
                prevY = py;
            }
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
            g.fillRect(left + 20, top + 15 + 22 * (k - 1), 14, 14);
            g.setColor(Color.BLACK);
            g.drawString(names[k - 1], left + 42, top + 27 + 22 * (k - 1));
        }
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
    }

    private static String q(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }

    private static String num(double v) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : "null";
    }
}
