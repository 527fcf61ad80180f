package demo;

/** Slug makes URL slugs. */
public final class Slug {
    private Slug() {}

    /** Returns s in lower case with runs of spaces replaced by one dash. */
    public static String of(String s) {
        return String.join("-", s.toLowerCase().trim().split("\\s+"));
    }
}
