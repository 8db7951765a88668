/**
 * A stream's image enrolments (`enroll` with `source: 'image'`), one at a time, the newest waiting
 * one next: the ones it replaced are never embedded nor answered, so a stream of them costs one
 * embedding at a time, not a queue.
 */
export class ImageEnrolment {
  readonly #embed: (image: Buffer) => Promise<Float32Array>;
  readonly #onEnrolled: (embedding: Float32Array) => void;
  #running = false;
  #next: string | null = null;

  /**
   * `embed`: the reference image (bytes) to its embedding; `onEnrolled`: an embedding that no
   * newer image replaced.
   */
  constructor(
    embed: (image: Buffer) => Promise<Float32Array>,
    onEnrolled: (embedding: Float32Array) => void,
  ) {
    this.#embed = embed;
    this.#onEnrolled = onEnrolled;
  }

  /**
   * Enrols a base64 image. Resolves at once when an enrolment is running (it takes this one up
   * next), else when this run ends; rejects with the failure of an image no newer one replaced.
   */
  async submit(image: string): Promise<void> {
    this.#next = image;
    if (this.#running) return;
    this.#running = true;
    try {
      while (this.#next !== null) {
        const current: string = this.#next;
        this.#next = null;
        let embedding: Float32Array;
        try {
          embedding = await this.#embed(Buffer.from(current, 'base64'));
        } catch (error) {
          if (this.#next !== null) continue; // replaced meanwhile: its failure is moot
          throw error;
        }
        if (this.#next !== null) continue; // replaced meanwhile: the newer one is used
        this.#onEnrolled(embedding);
      }
    } finally {
      this.#running = false;
    }
  }
}
