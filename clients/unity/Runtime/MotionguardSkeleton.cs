// Reads the 21 canonical joints from a humanoid Animator, fills the optional bones a rig may
// lack (Chest, Neck, Shoulders, Toes), and converts Unity world positions to protocol axes.
using System;
using System.Collections.Generic;
using UnityEngine;

namespace Motionguard
{
    /// <summary>Unity world space to the protocol's space, and back.</summary>
    public static class MotionguardAxes
    {
        /// <summary>
        /// Unity is left-handed (X right, Y up, Z forward); the protocol is right-handed with Y up:
        /// the same point is (x, y, -z). Metres stay metres (scale by metresPerUnit if one Unity
        /// unit is not a metre in your project).
        /// </summary>
        public static void UnityToProtocol(float x, float y, float z, float metresPerUnit, float[] destination, int offset)
        {
            destination[offset] = x * metresPerUnit;
            destination[offset + 1] = y * metresPerUnit;
            destination[offset + 2] = -z * metresPerUnit;
        }

        public static Vector3 UnityToProtocol(Vector3 unity)
        {
            return new Vector3(unity.x, unity.y, -unity.z);
        }

        /// <summary>The inverse (negating Z is its own inverse), e.g. to draw protocol positions in a scene.</summary>
        public static Vector3 ProtocolToUnity(Vector3 protocol)
        {
            return new Vector3(protocol.x, protocol.y, -protocol.z);
        }
    }

    /// <summary>
    /// Positions for the canonical joints a rig does not have, from the joints it has, in
    /// proportions of the canonical skeleton (Spine to Chest 15, Chest to Neck 20, Neck to Head
    /// 10 cm; Shoulder between the chest, neck and upper arm; Toes 12 cm ahead of and 6 cm below
    /// the ankle on an 84 cm leg). Each stand-in keeps a fixed relation to the joints it comes
    /// from, so the bone lengths the server checks stay constant. Unity-free (plain floats in
    /// Unity world space, canonical order, x, y, z per joint).
    /// </summary>
    public static class MotionguardFallbacks
    {
        public const int Hips = 0, Spine = 1, Chest = 2, Neck = 3, Head = 4;
        public const int LeftShoulder = 5, LeftUpperArm = 6, RightShoulder = 9, RightUpperArm = 10;
        public const int LeftUpperLeg = 13, LeftLowerLeg = 14, LeftFoot = 15, LeftToes = 16;
        public const int RightUpperLeg = 17, RightLowerLeg = 18, RightFoot = 19, RightToes = 20;

        /// <summary>The joints a humanoid rig may lack (Unity requires all the others).</summary>
        public static readonly int[] Optional = { Chest, Neck, LeftShoulder, RightShoulder, LeftToes, RightToes };

        /// <summary>Fills p[j] for every optional joint j with present[j] false. The required joints must be present.</summary>
        public static void Fill(float[] p, int offset, bool[] present)
        {
            if (!present[Chest] && !present[Neck])
            {
                Lerp(p, offset, Spine, Head, 15f / 45f, Chest);
                Lerp(p, offset, Spine, Head, 35f / 45f, Neck);
            }
            else if (!present[Chest])
            {
                Lerp(p, offset, Spine, Neck, 15f / 35f, Chest);
            }
            else if (!present[Neck])
            {
                Lerp(p, offset, Chest, Head, 20f / 30f, Neck);
            }
            if (!present[LeftShoulder]) Shoulder(p, offset, LeftUpperArm, LeftShoulder);
            if (!present[RightShoulder]) Shoulder(p, offset, RightUpperArm, RightShoulder);
            if (!present[LeftToes] || !present[RightToes])
            {
                // Facing from the hips' left-right line: forward = cross(right, up) (Unity, left-handed), horizontal.
                float rx = p[offset + RightUpperLeg * 3] - p[offset + LeftUpperLeg * 3];
                float rz = p[offset + RightUpperLeg * 3 + 2] - p[offset + LeftUpperLeg * 3 + 2];
                float fx = -rz, fz = rx;
                float norm = (float)Math.Sqrt(fx * fx + fz * fz);
                if (norm > 1e-6f)
                {
                    fx /= norm;
                    fz /= norm;
                }
                else
                {
                    fx = 0;
                    fz = 1;
                }
                if (!present[LeftToes]) Toes(p, offset, LeftUpperLeg, LeftLowerLeg, LeftFoot, LeftToes, fx, fz);
                if (!present[RightToes]) Toes(p, offset, RightUpperLeg, RightLowerLeg, RightFoot, RightToes, fx, fz);
            }
        }

        private static void Lerp(float[] p, int offset, int from, int to, float t, int target)
        {
            for (int a = 0; a < 3; a++)
            {
                float x = p[offset + from * 3 + a];
                p[offset + target * 3 + a] = x + (p[offset + to * 3 + a] - x) * t;
            }
        }

        private static void Shoulder(float[] p, int offset, int upperArm, int target)
        {
            // Canonical: Chest (0, 0), Neck (0, 20), UpperArm (18, 12), Shoulder (8, 12); this weighting gives (8.1, 11.4).
            for (int a = 0; a < 3; a++)
            {
                p[offset + target * 3 + a] = 0.25f * p[offset + Chest * 3 + a] + 0.3f * p[offset + Neck * 3 + a] + 0.45f * p[offset + upperArm * 3 + a];
            }
        }

        private static void Toes(float[] p, int offset, int upperLeg, int lowerLeg, int foot, int target, float fx, float fz)
        {
            float leg = Distance(p, offset, upperLeg, lowerLeg) + Distance(p, offset, lowerLeg, foot);
            p[offset + target * 3] = p[offset + foot * 3] + fx * leg * (12f / 84f);
            p[offset + target * 3 + 1] = p[offset + foot * 3 + 1] - leg * (6f / 84f);
            p[offset + target * 3 + 2] = p[offset + foot * 3 + 2] + fz * leg * (12f / 84f);
        }

        private static float Distance(float[] p, int offset, int a, int b)
        {
            float dx = p[offset + a * 3] - p[offset + b * 3];
            float dy = p[offset + a * 3 + 1] - p[offset + b * 3 + 1];
            float dz = p[offset + a * 3 + 2] - p[offset + b * 3 + 2];
            return (float)Math.Sqrt(dx * dx + dy * dy + dz * dz);
        }
    }

    /// <summary>The bones of one humanoid Animator, in canonical order.</summary>
    public sealed class MotionguardSkeleton
    {
        /// <summary>HumanBodyBones of the canonical joints, in canonical order (the names match).</summary>
        public static readonly HumanBodyBones[] CanonicalBones =
        {
            HumanBodyBones.Hips, HumanBodyBones.Spine, HumanBodyBones.Chest, HumanBodyBones.Neck, HumanBodyBones.Head,
            HumanBodyBones.LeftShoulder, HumanBodyBones.LeftUpperArm, HumanBodyBones.LeftLowerArm, HumanBodyBones.LeftHand,
            HumanBodyBones.RightShoulder, HumanBodyBones.RightUpperArm, HumanBodyBones.RightLowerArm, HumanBodyBones.RightHand,
            HumanBodyBones.LeftUpperLeg, HumanBodyBones.LeftLowerLeg, HumanBodyBones.LeftFoot, HumanBodyBones.LeftToes,
            HumanBodyBones.RightUpperLeg, HumanBodyBones.RightLowerLeg, HumanBodyBones.RightFoot, HumanBodyBones.RightToes,
        };

        private readonly Transform[] bones;
        private readonly bool[] present;
        private readonly float[] world = new float[MotionguardProtocol.ValuesPerFrame];

        private MotionguardSkeleton(Transform[] bones, bool[] present, string[] fallbacks)
        {
            this.bones = bones;
            this.present = present;
            FallbackJoints = fallbacks;
        }

        /// <summary>Canonical joints this rig lacks, computed from the others (empty on a full rig).</summary>
        public string[] FallbackJoints { get; private set; }

        /// <summary>The bones of <paramref name="animator"/>, or null with <paramref name="problem"/> saying why (not humanoid, a required bone missing).</summary>
        public static MotionguardSkeleton FromAnimator(Animator animator, out string problem)
        {
            problem = null;
            if (animator == null)
            {
                problem = "no Animator";
                return null;
            }
            if (!animator.isHuman)
            {
                problem = "the Animator has no humanoid Avatar (set the model's Rig to Humanoid)";
                return null;
            }
            var bones = new Transform[MotionguardProtocol.JointCount];
            var present = new bool[MotionguardProtocol.JointCount];
            var missingRequired = new List<string>();
            var fallbacks = new List<string>();
            for (int j = 0; j < bones.Length; j++)
            {
                bones[j] = animator.GetBoneTransform(CanonicalBones[j]);
                present[j] = bones[j] != null;
                if (present[j]) continue;
                if (Array.IndexOf(MotionguardFallbacks.Optional, j) >= 0) fallbacks.Add(MotionguardProtocol.CanonicalJoints[j]);
                else missingRequired.Add(MotionguardProtocol.CanonicalJoints[j]);
            }
            if (missingRequired.Count > 0)
            {
                problem = "the humanoid Avatar has no " + string.Join(", ", missingRequired.ToArray()) + " bone";
                return null;
            }
            return new MotionguardSkeleton(bones, present, fallbacks.ToArray());
        }

        /// <summary>
        /// Writes the 63 protocol coordinates (metres, right-handed, Y up) of the current pose
        /// from <paramref name="offset"/>. False when a bone was destroyed or a position is not finite.
        /// </summary>
        public bool WritePose(float[] destination, int offset, float metresPerUnit)
        {
            for (int j = 0; j < bones.Length; j++)
            {
                if (!present[j]) continue;
                var bone = bones[j];
                if (bone == null) return false; // destroyed since (Unity's == null)
                Vector3 p = bone.position;
                world[j * 3] = p.x;
                world[j * 3 + 1] = p.y;
                world[j * 3 + 2] = p.z;
            }
            if (FallbackJoints.Length > 0) MotionguardFallbacks.Fill(world, 0, present);
            for (int j = 0; j < MotionguardProtocol.JointCount; j++)
            {
                float x = world[j * 3], y = world[j * 3 + 1], z = world[j * 3 + 2];
                if (float.IsNaN(x + y + z) || float.IsInfinity(x + y + z)) return false;
                MotionguardAxes.UnityToProtocol(x, y, z, metresPerUnit, destination, offset + j * 3);
            }
            return true;
        }
    }
}
