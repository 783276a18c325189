// Stand-ins for the few extra UnityEngine members the samples (Samples~) use, so the test can
// check that they compile against the runtime. Kept apart from UnityStandIn, which holds only
// what the runtime itself touches. Not Unity; never shipped.
namespace UnityEngine
{
    public struct Rect
    {
        public float x, y, width, height;
        public Rect(float x, float y, float width, float height) { this.x = x; this.y = y; this.width = width; this.height = height; }
    }

    public struct Color
    {
        public float r, g, b, a;
        public Color(float r, float g, float b, float a) { this.r = r; this.g = g; this.b = b; this.a = a; }
        public static Color red { get { return new Color(1, 0, 0, 1); } }
        public static Color white { get { return new Color(1, 1, 1, 1); } }
    }

    public static class GUI
    {
        public static Color contentColor { get; set; }
    }

    public static class GUILayout
    {
        public static void BeginArea(Rect screenRect) { }
        public static void EndArea() { }
        public static void Label(string text) { }
    }

    public partial class Object
    {
        // Compile-only: the samples are type-checked, not run.
        public static T[] FindObjectsOfType<T>() where T : Object { return new T[0]; }
    }
}
