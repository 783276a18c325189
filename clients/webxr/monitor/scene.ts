/**
 * The 3D view: each avatar as a skeleton (a sphere per joint coloured by its live anomaly
 * score, a line per bone), side by side along X, each drawn around its own hips so walking
 * clips stay in view. Avatars the page does not publish itself arrive as scores only (the
 * protocol gives subscribers no poses): they are drawn in a neutral rest pose, coloured the same.
 */
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';
import { BONES, JOINT_COUNT, jointIndex } from '../src/joints.js';
import { scoreColor } from './colors.js';

const SLOT_SPACING = 1.3;
const HIPS = jointIndex('Hips');
const LOCAL_BONES = '#9fb3c8';
const REMOTE_BONES = '#56636f';

interface Figure {
  readonly group: THREE.Group;
  remote: boolean;
  readonly joints: THREE.Mesh<THREE.SphereGeometry, THREE.MeshStandardMaterial>[];
  readonly bones: THREE.LineSegments<THREE.BufferGeometry, THREE.LineBasicMaterial>;
  label: THREE.Sprite;
}

function labelSprite(text: string, remote: boolean): THREE.Sprite {
  const canvas = document.createElement('canvas');
  canvas.width = 512;
  canvas.height = 96;
  const ctx = canvas.getContext('2d')!;
  ctx.font = '600 40px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.fillStyle = '#e8edf2';
  ctx.fillText(text.length > 22 ? `${text.slice(0, 21)}…` : text, 256, 44);
  if (remote) {
    ctx.font = '28px system-ui, sans-serif';
    ctx.fillStyle = '#8a98a8';
    ctx.fillText('scores only (rest pose)', 256, 84);
  }
  const texture = new THREE.CanvasTexture(canvas);
  texture.colorSpace = THREE.SRGBColorSpace;
  const sprite = new THREE.Sprite(new THREE.SpriteMaterial({ map: texture, depthWrite: false }));
  sprite.scale.set(1.2, 0.225, 1);
  return sprite;
}

function disposeSprite(sprite: THREE.Sprite): void {
  sprite.material.map?.dispose();
  sprite.material.dispose();
}

export class SkeletonScene {
  readonly renderer: THREE.WebGLRenderer;
  private readonly scene = new THREE.Scene();
  private readonly camera: THREE.PerspectiveCamera;
  private readonly controls: OrbitControls;
  private readonly figures = new Map<string, Figure>();
  private readonly sphere = new THREE.SphereGeometry(0.035, 12, 8);

  /** Throws when WebGL is unavailable. */
  constructor(private readonly container: HTMLElement) {
    this.renderer = new THREE.WebGLRenderer({ antialias: true });
    this.renderer.setPixelRatio(Math.min(2, globalThis.devicePixelRatio || 1));
    container.appendChild(this.renderer.domElement);
    this.renderer.domElement.id = 'scene';
    this.scene.background = new THREE.Color('#0b0f14');
    this.camera = new THREE.PerspectiveCamera(45, 1, 0.05, 100);
    this.camera.position.set(0, 1.6, 4.2);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.target.set(0, 0.95, 0);
    this.controls.update();
    this.scene.add(new THREE.HemisphereLight('#dfe9f3', '#202830', 2.2));
    const sun = new THREE.DirectionalLight('#ffffff', 1.2);
    sun.position.set(2, 4, 3);
    this.scene.add(sun);
    const grid = new THREE.GridHelper(20, 40, '#2b3a48', '#1a232c');
    this.scene.add(grid);
    new ResizeObserver(() => this.resize()).observe(container);
    this.resize();
  }

  /** Shows (or updates) an avatar. `pose`: 63 numbers (canonical order, metres); `jointScores`: 21 numbers. */
  update(avatar: string, slot: number, pose: Float32Array, remote: boolean, jointScores: ArrayLike<number> | null, threshold: number): void {
    let figure = this.figures.get(avatar);
    if (!figure) figure = this.add(avatar, remote);
    if (figure.remote !== remote) {
      // Scores arrived before this page's own first pose (or the other way round): relabel.
      figure.group.remove(figure.label);
      disposeSprite(figure.label);
      figure.label = labelSprite(avatar, remote);
      figure.group.add(figure.label);
      figure.remote = remote;
      figure.bones.material.color.set(remote ? REMOTE_BONES : LOCAL_BONES);
    }
    const offsetX = (slot - (this.figures.size - 1) / 2) * SLOT_SPACING;
    const hx = pose[HIPS * 3]!;
    const hz = pose[HIPS * 3 + 2]!;
    const positions = figure.bones.geometry.getAttribute('position') as THREE.BufferAttribute;
    const at = (j: number): [number, number, number] => [pose[j * 3]! - hx + offsetX, pose[j * 3 + 1]!, pose[j * 3 + 2]! - hz];
    for (let j = 0; j < JOINT_COUNT; j++) {
      figure.joints[j]!.position.set(...at(j));
      const rgb = scoreColor(jointScores ? jointScores[j]! : 0, threshold);
      figure.joints[j]!.material.color.setRGB(rgb[0], rgb[1], rgb[2], THREE.SRGBColorSpace);
    }
    BONES.forEach(([child, parent], b) => {
      positions.setXYZ(2 * b, ...at(child));
      positions.setXYZ(2 * b + 1, ...at(parent));
    });
    positions.needsUpdate = true;
    figure.bones.geometry.computeBoundingSphere();
    const head = at(jointIndex('Head'));
    figure.label.position.set(offsetX, Math.max(head[1] + 0.4, 0.4), 0);
  }

  remove(avatar: string): void {
    const figure = this.figures.get(avatar);
    if (!figure) return;
    this.scene.remove(figure.group);
    figure.bones.geometry.dispose();
    figure.bones.material.dispose();
    figure.joints.forEach((m) => m.material.dispose());
    disposeSprite(figure.label);
    this.figures.delete(avatar);
  }

  render(): void {
    this.renderer.render(this.scene, this.camera);
  }

  private add(avatar: string, remote: boolean): Figure {
    const group = new THREE.Group();
    const joints = Array.from({ length: JOINT_COUNT }, () => new THREE.Mesh(this.sphere, new THREE.MeshStandardMaterial({ roughness: 0.5 })));
    joints.forEach((m) => group.add(m));
    const geometry = new THREE.BufferGeometry();
    geometry.setAttribute('position', new THREE.BufferAttribute(new Float32Array(BONES.length * 2 * 3), 3));
    const bones = new THREE.LineSegments(geometry, new THREE.LineBasicMaterial({ color: remote ? REMOTE_BONES : LOCAL_BONES }));
    group.add(bones);
    const label = labelSprite(avatar, remote);
    group.add(label);
    this.scene.add(group);
    const figure = { group, remote, joints, bones, label };
    this.figures.set(avatar, figure);
    return figure;
  }

  private resize(): void {
    const width = this.container.clientWidth || 640;
    const height = this.container.clientHeight || 400;
    this.renderer.setSize(width, height, false);
    this.renderer.domElement.style.width = '100%';
    this.renderer.domElement.style.height = '100%';
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
  }
}
