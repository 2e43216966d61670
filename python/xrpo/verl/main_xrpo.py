"""``python -m xrpo.verl.main_xrpo <hydra overrides>``: verl's PPO entry point
(``verl.trainer.main_ppo``'s configuration, legacy ``trainer.use_v1=False`` trainer) with
:class:`xrpo.verl.trainer.RayXRPOTrainer`. Needs GPUs; see python/README.md.

Example (2 nodes x 8 GPUs)::

    python -m xrpo.verl.main_xrpo algorithm.adv_estimator=xrpo \\
        custom_reward_function.path=$(python -c 'import xrpo.verl; print(xrpo.verl.reward_path())') \\
        custom_reward_function.name=compute_score +algorithm.xrpo.phases=3 \\
        data.train_files=train.parquet data.val_files=test.parquet data.train_batch_size=256 \\
        actor_rollout_ref.rollout.n=16 actor_rollout_ref.model.path=Qwen/Qwen2.5-Math-1.5B \\
        trainer.nnodes=2 trainer.n_gpus_per_node=8
"""

from __future__ import annotations

import os


def _task_runner():
    import ray
    from verl.trainer.main_ppo_v0 import TaskRunner

    base = getattr(TaskRunner, "__ray_actor_class__", None)
    if base is None:  # pragma: no cover - other Ray versions
        base = TaskRunner.__ray_metadata__.modified_class

    class XRPOTaskRunner(base):  # type: ignore[misc,valid-type]
        def run(self, config):
            import verl.trainer.main_ppo_v0 as m

            import xrpo.verl.reward  # noqa: F401  registers the "xrpo" estimator in this process
            from xrpo.verl.trainer import RayXRPOTrainer

            m.RayPPOTrainer = RayXRPOTrainer
            return super().run(config)

    return ray.remote(num_cpus=1)(XRPOTaskRunner)


def main() -> None:
    import hydra
    import verl.trainer.main_ppo as mp

    config_dir = os.path.join(os.path.dirname(mp.__file__), "config")

    @hydra.main(config_path=config_dir, config_name="ppo_trainer", version_base=None)
    def _main(config):
        from omegaconf import open_dict

        with open_dict(config):
            config.trainer.use_v1 = False
        mp.auto_set_device(config)
        mp.validate_config(config=config, use_reference_policy=mp.need_reference_policy(config),
                           use_critic=mp.need_critic(config))
        mp.run_ppo(config, task_runner_class=_task_runner())

    _main()


if __name__ == "__main__":
    main()
