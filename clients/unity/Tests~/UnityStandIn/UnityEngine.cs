// A stand-in for the few UnityEngine types clients/unity/Runtime touches, so the runtime
// compiles and runs under plain mono for tests. NOT Unity: only the members the runtime uses
// (same names and signatures), plus a tiny player loop (UnityStandIn.PlayerLoop) that calls
// the message methods the way the engine does. Never shipped (Tests~ is ignored by Unity).
using System;
using System.Collections.Generic;
using System.Reflection;

namespace UnityEngine
{
    public partial class Object
    {
        private string objectName = "";
        internal bool destroyed;

        public string name
        {
            get { return objectName; }
            set { objectName = value ?? ""; }
        }

        // Unity's destroyed objects compare equal to null.
        public static bool operator ==(Object a, Object b)
        {
            bool aNull = ReferenceEquals(a, null) || a.destroyed;
            bool bNull = ReferenceEquals(b, null) || b.destroyed;
            if (aNull || bNull) return aNull && bNull;
            return ReferenceEquals(a, b);
        }

        public static bool operator !=(Object a, Object b) { return !(a == b); }

        public static implicit operator bool(Object o) { return o != null; }

        public override bool Equals(object other) { return ReferenceEquals(this, other); }

        public override int GetHashCode() { return base.GetHashCode(); }

        public static void Destroy(Object o)
        {
            if (o == null) return;
            var go = o as GameObject;
            if (go != null)
            {
                foreach (var c in go.Components.ToArray()) Destroy(c);
                go.destroyed = true;
                return;
            }
            var behaviour = o as Behaviour;
            if (behaviour != null && behaviour.isActiveAndEnabled) UnityStandIn.PlayerLoop.Send(behaviour, "OnDisable");
            if (o is MonoBehaviour) UnityStandIn.PlayerLoop.Send(o, "OnDestroy");
            o.destroyed = true;
            var component = o as Component;
            if (component != null) component.gameObject.Components.Remove(component);
            UnityStandIn.PlayerLoop.Forget(o);
        }
    }

    public sealed class GameObject : Object
    {
        internal readonly List<Component> Components = new List<Component>();
        private bool active = true;

        public GameObject(string name = "GameObject")
        {
            this.name = name;
            AddComponent<Transform>();
        }

        public Transform transform { get { return GetComponent<Transform>(); } }

        public bool activeInHierarchy { get { return active && !destroyed; } }

        public void SetActive(bool value)
        {
            if (value == active) return;
            active = value;
            foreach (var c in Components.ToArray())
            {
                var b = c as Behaviour;
                if (b != null && b.enabled) UnityStandIn.PlayerLoop.Send(b, value ? "OnEnable" : "OnDisable");
            }
        }

        public T AddComponent<T>() where T : Component, new()
        {
            var component = new T();
            component.gameObject = this;
            component.name = name;
            Components.Add(component);
            if (component is MonoBehaviour)
            {
                UnityStandIn.PlayerLoop.Register(component as MonoBehaviour);
                if (activeInHierarchy)
                {
                    UnityStandIn.PlayerLoop.Send(component, "Awake");
                    UnityStandIn.PlayerLoop.Send(component, "OnEnable");
                }
            }
            return component;
        }

        public T GetComponent<T>() where T : Component
        {
            foreach (var c in Components)
            {
                var t = c as T;
                if (t != null) return t;
            }
            return null;
        }
    }

    public class Component : Object
    {
        public GameObject gameObject { get; internal set; }

        public Transform transform { get { return gameObject.transform; } }

        public T GetComponent<T>() where T : Component { return gameObject.GetComponent<T>(); }
    }

    public class Transform : Component
    {
        /// <summary>World position (the stand-in has no hierarchy).</summary>
        public Vector3 position { get; set; }
    }

    public class Behaviour : Component
    {
        private bool enabledValue = true;

        public bool enabled
        {
            get { return enabledValue; }
            set
            {
                if (value == enabledValue) return;
                enabledValue = value;
                if (gameObject != null && gameObject.activeInHierarchy) UnityStandIn.PlayerLoop.Send(this, value ? "OnEnable" : "OnDisable");
            }
        }

        public bool isActiveAndEnabled { get { return enabledValue && gameObject != null && gameObject.activeInHierarchy && !destroyed; } }
    }

    public class MonoBehaviour : Behaviour { }

    public enum HumanBodyBones
    {
        Hips = 0, LeftUpperLeg = 1, RightUpperLeg = 2, LeftLowerLeg = 3, RightLowerLeg = 4, LeftFoot = 5, RightFoot = 6,
        Spine = 7, Chest = 8, Neck = 9, Head = 10, LeftShoulder = 11, RightShoulder = 12, LeftUpperArm = 13, RightUpperArm = 14,
        LeftLowerArm = 15, RightLowerArm = 16, LeftHand = 17, RightHand = 18, LeftToes = 19, RightToes = 20,
    }

    public class Animator : Behaviour
    {
        private readonly Dictionary<HumanBodyBones, Transform> bones = new Dictionary<HumanBodyBones, Transform>();

        /// <summary>Stand-in: true when a humanoid Avatar is assigned.</summary>
        public bool isHuman { get; set; }

        public Transform GetBoneTransform(HumanBodyBones bone)
        {
            Transform t;
            return bones.TryGetValue(bone, out t) ? t : null;
        }

        /// <summary>Stand-in only: what the humanoid Avatar maps <paramref name="bone"/> to (null: not mapped).</summary>
        public void SetBoneTransform(HumanBodyBones bone, Transform t)
        {
            if (t == null) bones.Remove(bone);
            else bones[bone] = t;
        }
    }

    public struct Vector3
    {
        public float x, y, z;

        public Vector3(float x, float y, float z)
        {
            this.x = x;
            this.y = y;
            this.z = z;
        }

        public override string ToString() { return "(" + x + ", " + y + ", " + z + ")"; }
    }

    public static class Time
    {
        /// <summary>Seconds since start, unaffected by timeScale (stand-in: set by the player loop).</summary>
        public static double unscaledTimeAsDouble { get; internal set; }
    }

    public static class Debug
    {
        /// <summary>Stand-in: every line goes here (the test harness may replace it).</summary>
        public static Action<string, string> Sink = (level, message) => Console.Error.WriteLine("[unity " + level + "] " + message);

        public static void Log(object message) { Sink("info", Convert.ToString(message)); }
        public static void Log(object message, Object context) { Log(message); }
        public static void LogWarning(object message) { Sink("warning", Convert.ToString(message)); }
        public static void LogWarning(object message, Object context) { LogWarning(message); }
        public static void LogError(object message) { Sink("error", Convert.ToString(message)); }
        public static void LogError(object message, Object context) { LogError(message); }
        public static void LogException(Exception exception) { Sink("exception", exception.ToString()); }
        public static void LogException(Exception exception, Object context) { LogException(exception); }
    }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class SerializeField : Attribute { }

    [AttributeUsage(AttributeTargets.Field, AllowMultiple = true)]
    public sealed class HeaderAttribute : Attribute
    {
        public HeaderAttribute(string header) { }
    }

    [AttributeUsage(AttributeTargets.Field)]
    public sealed class TooltipAttribute : Attribute
    {
        public TooltipAttribute(string tooltip) { }
    }

    [AttributeUsage(AttributeTargets.Class)]
    public sealed class AddComponentMenu : Attribute
    {
        public AddComponentMenu(string menuName) { }
    }

    [AttributeUsage(AttributeTargets.Class)]
    public sealed class DisallowMultipleComponent : Attribute { }

    [AttributeUsage(AttributeTargets.Class)]
    public sealed class DefaultExecutionOrder : Attribute
    {
        public DefaultExecutionOrder(int order) { this.order = order; }
        public int order { get; private set; }
    }

    public enum RuntimeInitializeLoadType
    {
        AfterSceneLoad = 0, BeforeSceneLoad = 1, AfterAssembliesLoaded = 2, BeforeSplashScreen = 3, SubsystemRegistration = 4,
    }

    [AttributeUsage(AttributeTargets.Method)]
    public sealed class RuntimeInitializeOnLoadMethodAttribute : Attribute
    {
        public RuntimeInitializeOnLoadMethodAttribute(RuntimeInitializeLoadType loadType) { }
    }
}

namespace UnityEngine.Events
{
    public class UnityEvent<T0>
    {
        private readonly List<Action<T0>> listeners = new List<Action<T0>>();

        public void AddListener(Action<T0> call) { listeners.Add(call); }
        public void RemoveListener(Action<T0> call) { listeners.Remove(call); }

        public void Invoke(T0 arg0)
        {
            foreach (var listener in listeners.ToArray()) listener(arg0);
        }
    }
}

namespace UnityStandIn
{
    using UnityEngine;

    /// <summary>Calls message methods (Awake, OnEnable, Update, LateUpdate, ...) by name, as the engine does.</summary>
    public static class PlayerLoop
    {
        private static readonly List<MonoBehaviour> behaviours = new List<MonoBehaviour>();
        private static readonly HashSet<MonoBehaviour> started = new HashSet<MonoBehaviour>();

        /// <summary>Runs the [RuntimeInitializeOnLoadMethod] statics of the loaded assemblies, like entering play mode.</summary>
        public static void Boot()
        {
            foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
            {
                Type[] types;
                try { types = assembly.GetTypes(); } catch (ReflectionTypeLoadException) { continue; }
                foreach (var type in types)
                {
                    foreach (var method in type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
                    {
                        if (method.GetCustomAttributes(typeof(RuntimeInitializeOnLoadMethodAttribute), false).Length > 0) method.Invoke(null, null);
                    }
                }
            }
        }

        /// <summary>One frame: time advances by <paramref name="deltaSeconds"/>, then Start (once), Update, LateUpdate.</summary>
        public static void Frame(double deltaSeconds)
        {
            Time.unscaledTimeAsDouble += deltaSeconds;
            var now = behaviours.FindAll(b => b.isActiveAndEnabled);
            foreach (var b in now)
            {
                if (started.Add(b)) Send(b, "Start");
            }
            foreach (var b in now) if (b.isActiveAndEnabled) Send(b, "Update");
            now.Sort((a, b) => Order(a).CompareTo(Order(b)));
            foreach (var b in now) if (b.isActiveAndEnabled) Send(b, "LateUpdate");
        }

        internal static void Register(MonoBehaviour behaviour) { behaviours.Add(behaviour); }

        internal static void Forget(Object o)
        {
            var b = o as MonoBehaviour;
            if (b == null) return;
            behaviours.Remove(b);
            started.Remove(b);
        }

        internal static void Send(object target, string message)
        {
            var method = target.GetType().GetMethod(message, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic, null, Type.EmptyTypes, null);
            if (method == null) return;
            try
            {
                method.Invoke(target, null);
            }
            catch (TargetInvocationException error)
            {
                // The engine logs an exception thrown by a message method and carries on.
                Debug.LogException(error.InnerException ?? error);
            }
        }

        private static int Order(MonoBehaviour b)
        {
            var attributes = b.GetType().GetCustomAttributes(typeof(DefaultExecutionOrder), true);
            return attributes.Length > 0 ? ((DefaultExecutionOrder)attributes[0]).order : 0;
        }
    }
}
